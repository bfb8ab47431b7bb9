import { LRUCache } from "lru-cache";
import { caughtUp, type Database } from "../../database/database.js";
import type { BaseKind, Ownership } from "../../generated/prisma/enums.js";
import { compilePolicy, type CompiledPolicy } from "../../engine/index.js";
import { type BaseStore, RESOURCE_CHANGED_CHANNEL, type RunnableRow } from "../../stores/base.store.js";
import { isUuid } from "../../shared/ids.js";
import { asAlias } from "../catalogue/catalogue-rules.js";
import { RecordStatus } from "../resources/resource.types.js";

/** What a run needs to know about a record, and its policy compiled once. */
export interface Runnable {
  tenantId: string;
  baseId: string;
  kind: BaseKind;
  ownership: Ownership;
  ownerId: string | null;
  deletedAt: Date | null;
  recordId: string;
  status: RecordStatus;
  versionNumber: number | null;
  content: string;
  /** Present for policies. */
  compiled: CompiledPolicy | null;
}

const MAX_ENTRIES = 10_000;

export interface RunnableLookup {
  /** The latest version of the base (by ID, or by the alias it holds in the operation's tenant), else its draft. */
  byBase(baseIdOrAlias: string): Promise<Runnable | null>;
  /** That exact draft or version. */
  byRecord(recordId: string): Promise<Runnable | null>;
  /** A base ID, record ID or alias, as flow nodes name their policies. */
  byAnyId(id: string): Promise<Runnable | null>;
}

/**
 * Resolves base IDs and record IDs to runnable records without reading their rows on the hot path.
 * Entries are dropped when any gateway process announces a change to their base (Postgres NOTIFY), and
 * everything is dropped when the notification connection is lost or re-established, since a notification
 * may have been missed meanwhile. An entry answers only after catching up with every announcement committed
 * before the lookup (`Database.catchUp`), so a run sees what any process published or deleted before it
 * began. A load that overlaps an announcement is served but not cached.
 */
export class RunnableCache {
  private readonly entries = new LRUCache<string, Runnable>({ max: MAX_ENTRIES });
  private readonly keysByBase = new Map<string, Set<string>>();
  private announcements = 0;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.database.listen(RESOURCE_CHANGED_CHANNEL, (baseId) => this.forget(baseId));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  /**
   * Lookups for one operation (a run, a flow and its nodes): the first cached answer catches up with
   * announcements, and the operation's later lookups trust that, so a flow of many nodes waits only once.
   * `caughtUpAlready` is a catch-up (`caughtUp(database)`) started before the operation, to use instead; or
   * the moment the operation began (`process.hrtime.bigint()`, e.g. its request's arrival), so that the catch-up
   * its credential's lookup already waited for serves here too (`Database.catchUp(since)`).
   */
  forOneOperation(tenantId: string, caughtUpAlready?: Promise<boolean> | bigint): RunnableLookup {
    // A caller that has just caught up for its own cache (the shadow runner) shares that round trip.
    return new OperationLookup(this, tenantId, caughtUpAlready);
  }

  /** Whether this process may answer from memory now (OperationLookup shares one answer per operation). */
  caughtUp(since: bigint | undefined): Promise<boolean> {
    return caughtUp(this.database, since);
  }

  /** Whether `key` has an entry (which may still need a catch-up before it answers). */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  private forget(baseId: string): void {
    this.announcements++;
    if (baseId === "*") {
      this.entries.clear();
      this.keysByBase.clear();
      return;
    }
    for (const key of this.keysByBase.get(baseId) ?? []) this.entries.delete(key);
    this.keysByBase.delete(baseId);
  }

  /** The runnable filed under `key` (`record:<id>`, `base:<id>` or `alias:<tenant>:<alias>`), from memory when fresh. */
  async cached(key: string, lookup: OperationLookup, load: Load, ref: string, tenantId: string): Promise<Runnable | null> {
    if (this.entries.has(key) && (await lookup.fresh())) {
      // The entry may have been dropped by an announcement that arrived meanwhile.
      const hit = this.entries.get(key);
      if (hit) return hit;
    }
    const before = this.announcements;
    const loaded = runnable(
      load === "base"
        ? await this.bases.runnableOfBase(ref)
        : load === "alias"
          ? await this.bases.runnableOfAlias(tenantId, ref)
          : await this.bases.runnableRecord(ref),
    );
    if (this.announcements === before) {
      // Unknown IDs are not cached: they would need an announcement of their own when created.
      if (loaded) {
        this.entries.set(key, loaded);
        let keys = this.keysByBase.get(loaded.baseId);
        if (!keys) this.keysByBase.set(loaded.baseId, (keys = new Set()));
        keys.add(key);
      }
    }
    return loaded;
  }
}

/** Which row a lookup reads on a miss. */
type Load = "base" | "alias" | "record";

/**
 * The lookups of one operation (RunnableCache.forOneOperation). A class rather than closures made per operation: it
 * is made on every run, and its methods are shared.
 */
class OperationLookup implements RunnableLookup {
  private freshness: Promise<boolean> | null;
  private readonly since: bigint | undefined;

  constructor(
    private readonly cache: RunnableCache,
    private readonly tenantId: string,
    caughtUpAlready: Promise<boolean> | bigint | undefined,
  ) {
    this.since = typeof caughtUpAlready === "bigint" ? caughtUpAlready : undefined;
    this.freshness = typeof caughtUpAlready === "bigint" ? null : (caughtUpAlready ?? null);
  }

  /** The operation's one catch-up, made when its first cached answer needs it. */
  fresh(): Promise<boolean> {
    return (this.freshness ??= this.cache.caughtUp(this.since));
  }

  byBase(ref: string): Promise<Runnable | null> {
    if (isUuid(ref)) return this.cache.cached(`base:${ref}`, this, "base", ref, this.tenantId);
    // Aliases are per tenant, so their entries are too. An entry is filed under the base holding the alias,
    // so the announcement of that base's alias change (or deletion) drops it on every process.
    const alias = asAlias(ref);
    if (!alias) return Promise.resolve(null);
    return this.cache.cached(`alias:${this.tenantId}:${alias}`, this, "alias", alias, this.tenantId);
  }

  byRecord(recordId: string): Promise<Runnable | null> {
    return this.cache.cached(`record:${recordId}`, this, "record", recordId, this.tenantId);
  }

  // A cached record ID skips the base lookup, which would miss (and misses are not cached) on every run.
  async byAnyId(id: string): Promise<Runnable | null> {
    if (!isUuid(id)) return this.byBase(id);
    if (this.cache.has(`record:${id}`)) return this.byRecord(id);
    return (await this.byBase(id)) ?? (await this.byRecord(id));
  }
}

/** A stored record ready to run: its policy compiled once, here, not on every run. */
function runnable(row: RunnableRow | null): Runnable | null {
  if (!row) return null;
  const { base, record } = row;
  return {
    tenantId: base.tenantId,
    baseId: base.id,
    kind: base.kind,
    ownership: base.ownership,
    ownerId: base.ownerId,
    deletedAt: base.deletedAt,
    recordId: record.id,
    status: record.version === null ? RecordStatus.DRAFT : RecordStatus.PUBLISHED,
    versionNumber: record.version,
    content: record.content,
    compiled: base.kind === "POLICY" ? compilePolicy(record.content) : null,
  };
}

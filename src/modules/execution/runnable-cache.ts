import { LRUCache } from "lru-cache";
import { caughtUp, type Database } from "../../database/database.js";
import type { BaseKind, Ownership } from "../../generated/prisma/enums.js";
import { compilePolicy, type CompiledPolicy } from "../../engine/index.js";
import { isUuid } from "../../graphql/ids.js";
import { RESOURCE_CHANGED_CHANNEL } from "../resources/resource-changes.js";
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
  /** The latest version of the base, else its draft. */
  byBase(baseId: string): Promise<Runnable | null>;
  /** That exact draft or version. */
  byRecord(recordId: string): Promise<Runnable | null>;
  /** A base or record ID, as flow nodes name their policies. */
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

  constructor(private readonly database: Database) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.database.listen(RESOURCE_CHANGED_CHANNEL, (baseId) => this.forget(baseId));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  /**
   * Lookups for one operation (a run, a flow and its nodes): the first cached answer catches up with
   * announcements, and the operation's later lookups trust that, so a flow of many nodes waits only once.
   */
  forOneOperation(): RunnableLookup {
    let freshness: Promise<boolean> | null = null;
    const fresh = () => (freshness ??= caughtUp(this.database));
    const byBase = (baseId: string) => this.cached(`base:${baseId}`, fresh, () => this.loadByBase(baseId));
    const byRecord = (recordId: string) => this.cached(`record:${recordId}`, fresh, () => this.loadByRecord(recordId));
    return {
      byBase,
      byRecord,
      // A cached record ID skips the base lookup, which would miss (and misses are not cached) on every run.
      byAnyId: async (id) => (this.entries.has(`record:${id}`) ? byRecord(id) : ((await byBase(id)) ?? (await byRecord(id)))),
    };
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

  private async cached(key: string, fresh: () => Promise<boolean>, load: () => Promise<Runnable | null>): Promise<Runnable | null> {
    if (this.entries.has(key) && (await fresh())) {
      // The entry may have been dropped by an announcement that arrived meanwhile.
      const hit = this.entries.get(key);
      if (hit) return hit;
    }
    const before = this.announcements;
    const loaded = await load();
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

  private async loadByBase(baseId: string): Promise<Runnable | null> {
    if (!isUuid(baseId)) return null;
    const base = await this.database.prisma.base.findUnique({
      where: { id: baseId.toLowerCase() },
      include: { draft: true, versions: { orderBy: { number: "desc" }, take: 1 } },
    });
    if (!base) return null;
    const version = base.versions[0];
    if (version) return runnable(base, { id: version.id, status: RecordStatus.PUBLISHED, versionNumber: version.number, content: version.content });
    if (base.draft) return runnable(base, { id: base.draft.id, status: RecordStatus.DRAFT, versionNumber: null, content: base.draft.content });
    return null;
  }

  private async loadByRecord(recordId: string): Promise<Runnable | null> {
    if (!isUuid(recordId)) return null;
    const id = recordId.toLowerCase();
    const { prisma } = this.database;
    const [version, draft] = await Promise.all([
      prisma.version.findUnique({ where: { id }, include: { base: true } }),
      prisma.draft.findUnique({ where: { id }, include: { base: true } }),
    ]);
    if (version) return runnable(version.base, { id, status: RecordStatus.PUBLISHED, versionNumber: version.number, content: version.content });
    if (draft) return runnable(draft.base, { id, status: RecordStatus.DRAFT, versionNumber: null, content: draft.content });
    return null;
  }
}

function runnable(
  base: { id: string; tenantId: string; kind: BaseKind; ownership: Ownership; ownerId: string | null; deletedAt: Date | null },
  record: { id: string; status: RecordStatus; versionNumber: number | null; content: string },
): Runnable {
  return {
    tenantId: base.tenantId,
    baseId: base.id,
    kind: base.kind,
    ownership: base.ownership,
    ownerId: base.ownerId,
    deletedAt: base.deletedAt,
    recordId: record.id,
    status: record.status,
    versionNumber: record.versionNumber,
    content: record.content,
    compiled: base.kind === "POLICY" ? compilePolicy(record.content) : null,
  };
}

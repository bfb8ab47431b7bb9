import { caughtUp, type Database } from "../database/database.js";

const DEFAULT_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

interface Entry<Row> {
  row: Row;
  loadedAt: number;
}

/**
 * Rows that every request needs and that rarely change — API keys by prefix, bearer tokens' users by subject, the
 * tenant registry's routes by tenant — kept in each gateway process, so a busy credential does not cost a database
 * query per request. Whatever changes such a row announces its key on the cache's channel inside its transaction
 * (NOTIFY is delivered only if it commits): the key service on revocation, a trigger on `users`, the registry on a
 * binding. Before a cached row answers, the cache catches up with every announcement committed before the request
 * (`Database.catchUp`, one round trip shared by all requests waiting at that moment), so a revoked key or a changed
 * role takes effect on the next request in every process, not just the one that made the change. When the
 * notification connection drops, comes back or cannot catch up, cached rows are not trusted ("*" drops them all).
 * Entries also age out after `ttlMs`, which bounds how long a change made without an announcement can go unseen.
 */
export class AnnouncedRowCache<Row> {
  private readonly entries = new Map<string, Entry<Row>>();
  private subscribed = false;
  private subscribing: Promise<unknown> | null = null;
  private forgets = 0;

  constructor(
    private readonly database: Database,
    /** Where changes to these rows are announced, with the changed row's key (or "*") as payload. */
    private readonly channel: string,
    private readonly read: (key: string) => Promise<Row | null>,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.subscribe(); // at start-up, so that the first requests can already be cached
  }

  /**
   * The key's row, from memory when it is cached and fresh, else from the database. Unknown keys are never cached.
   * `since`: the moment the request arrived (`process.hrtime.bigint()`); announcements committed before it are
   * seen, and a catch-up another lookup of the same request already made serves (`Database.catchUp`).
   */
  async get(key: string, since?: bigint): Promise<Row | null> {
    return (await this.cached(key, since)) ?? this.load(key);
  }

  /**
   * The row as this process last heard of it, without first catching up with announcements (no round trip when
   * cached): only for checks whose callers already allow for the few milliseconds an announcement takes to arrive.
   */
  async recent(key: string): Promise<Row | null> {
    return this.fresh(key)?.row ?? this.load(key);
  }

  private async cached(key: string, since?: bigint): Promise<Row | undefined> {
    if (!this.fresh(key) || !(await caughtUp(this.database, since))) return undefined;
    // The entry may have been dropped by an announcement that arrived meanwhile.
    return this.fresh(key)?.row;
  }

  private fresh(key: string): Entry<Row> | undefined {
    const entry = this.entries.get(key);
    if (entry && this.subscribed && this.now() - entry.loadedAt < this.ttlMs) return entry;
    if (entry) this.entries.delete(key);
    return undefined;
  }

  private async load(key: string): Promise<Row | null> {
    // Until announcements reach this process, nothing may be served from memory.
    if (!this.subscribed) this.subscribe();
    const before = this.forgets;
    const loadedAt = this.now();
    const row = await this.read(key);
    if (row && this.subscribed && this.forgets === before) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { row, loadedAt });
    }
    return row;
  }

  // One function for every attempt: a failed subscription stays registered with the listener (it listens
  // once it connects), so a retry must not add a second handler beside it.
  private readonly onAnnouncement = (key: string): void => this.forget(key);

  private forget(key: string): void {
    this.forgets += 1;
    if (key === "*") this.entries.clear();
    else this.entries.delete(key);
  }

  private subscribe(): void {
    this.subscribing ??= this.database
      .listen(this.channel, this.onAnnouncement)
      .then(() => {
        this.subscribed = true;
      })
      .catch(() => {
        // Try again on a later request; meanwhile every request reads the database.
        this.subscribing = null;
      });
  }
}

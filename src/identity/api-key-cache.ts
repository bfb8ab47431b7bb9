import { caughtUp, type Database } from "../database/database.js";
import { API_KEY_CHANGED_CHANNEL } from "../stores/identity.store.js";

const DEFAULT_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

interface Entry<Row> {
  row: Row;
  loadedAt: number;
}

/**
 * Every gateway process keeps the API-key rows it recently authenticated, so a busy key does not cost a
 * database query per request. A revocation announces the key's prefix on `API_KEY_CHANGED_CHANNEL` inside
 * its transaction (NOTIFY is delivered only if it commits). Before a cached row answers, the cache catches up
 * with every announcement committed before the request (`Database.catchUp`, one round trip shared by all
 * requests waiting at that moment), so a revoked key fails on the next request in every process, not just
 * the one that revoked it. When the notification connection drops, comes back or cannot catch up, cached
 * rows are not trusted ("*" drops them all). Entries also age out after `ttlMs`, which bounds how long a
 * change made behind the services' back (plain SQL without an announcement) can go unseen.
 */
export class ApiKeyRowCache<Row> {
  private readonly entries = new Map<string, Entry<Row>>();
  private subscribed = false;
  private subscribing: Promise<unknown> | null = null;
  private forgets = 0;

  constructor(
    private readonly database: Database,
    private readonly read: (prefix: string) => Promise<Row | null>,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
    /**
     * The same cache serves bearer tokens' user rows (authenticate.ts, `USER_CHANGED_CHANNEL`, announced by a trigger)
     * and the tenant registry's routes (src/tenancy/tenant-databases.ts), each announced on its own channel.
     */
    private readonly channel = API_KEY_CHANGED_CHANNEL,
  ) {
    this.subscribe(); // at start-up, so that the first requests can already be cached
  }

  /**
   * The key's row, from memory when it is cached and fresh, else from the database. Unknown prefixes are never cached.
   * `since`: the moment the request arrived (`process.hrtime.bigint()`); announcements committed before it are
   * seen, and a catch-up another lookup of the same request already made serves (`Database.catchUp`).
   */
  async get(prefix: string, since?: bigint): Promise<Row | null> {
    return (await this.cached(prefix, since)) ?? this.load(prefix);
  }

  /**
   * The row as this process last heard of it, without first catching up with announcements (no round trip when
   * cached): only for checks whose callers already allow for the few milliseconds an announcement takes to arrive.
   */
  async recent(prefix: string): Promise<Row | null> {
    return this.fresh(prefix)?.row ?? this.load(prefix);
  }

  private async cached(prefix: string, since?: bigint): Promise<Row | undefined> {
    if (!this.fresh(prefix) || !(await caughtUp(this.database, since))) return undefined;
    // The entry may have been dropped by an announcement that arrived meanwhile.
    return this.fresh(prefix)?.row;
  }

  private fresh(prefix: string): Entry<Row> | undefined {
    const entry = this.entries.get(prefix);
    if (entry && this.subscribed && this.now() - entry.loadedAt < this.ttlMs) return entry;
    if (entry) this.entries.delete(prefix);
    return undefined;
  }

  private async load(prefix: string): Promise<Row | null> {
    // Until announcements reach this process, nothing may be served from memory.
    if (!this.subscribed) this.subscribe();
    const before = this.forgets;
    const loadedAt = this.now();
    const row = await this.read(prefix);
    if (row && this.subscribed && this.forgets === before) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(prefix, { row, loadedAt });
    }
    return row;
  }

  // One function for every attempt: a failed subscription stays registered with the listener (it listens
  // once it connects), so a retry must not add a second handler beside it.
  private readonly onAnnouncement = (prefix: string): void => this.forget(prefix);

  private forget(prefix: string): void {
    this.forgets += 1;
    if (prefix === "*") this.entries.clear();
    else this.entries.delete(prefix);
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

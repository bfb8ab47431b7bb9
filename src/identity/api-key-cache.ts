import type { Database } from "../database/database.js";

/**
 * Every gateway process keeps the API-key rows it recently authenticated, so a busy key does not cost a
 * database query per request. A revocation announces the key's prefix on this channel inside its
 * transaction (NOTIFY is delivered only if it commits) and also drops the entry of its own process before it
 * answers, so the revoked key fails on the next request here and, as soon as the notification arrives
 * (milliseconds), everywhere else. When the notification connection drops or comes back, every entry is
 * dropped ("*"): a notification may have been missed. Entries also age out after `ttlMs`, which bounds how
 * long a change made behind the services' back (plain SQL, a tenant's database binding) can go unseen.
 */
export const API_KEY_CHANGED_CHANNEL = "verdict_api_key_changed";

const DEFAULT_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

interface Entry<Row> {
  row: Row;
  loadedAt: number;
}

const caches = new WeakMap<Database, Set<ApiKeyRowCache<unknown>>>();

/** Announces, inside the caller's transaction, that the key with this prefix changed. */
export async function announceApiKeyChange(
  tx: { $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number> },
  prefix: string,
): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${API_KEY_CHANGED_CHANNEL}, ${prefix})`;
}

/** Drops the key from this process's caches at once (after the change committed). */
export function forgetApiKeyLocally(database: Database, prefix: string): void {
  for (const cache of caches.get(database) ?? []) cache.forget(prefix);
}

export class ApiKeyRowCache<Row> {
  private readonly entries = new Map<string, Entry<Row>>();
  private subscribed = false;
  private subscribing: Promise<unknown> | null = null;
  private forgets = 0;

  constructor(
    private readonly database: Database,
    private readonly load: (prefix: string) => Promise<Row | null>,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    let set = caches.get(database);
    if (!set) caches.set(database, (set = new Set()));
    set.add(this as ApiKeyRowCache<unknown>);
    this.subscribe(); // at start-up, so that the first requests can already be cached
  }

  /** The key's row when it is in memory and fresh, without reading the database. */
  peek(prefix: string): Row | undefined {
    const entry = this.entries.get(prefix);
    return entry && this.subscribed && this.now() - entry.loadedAt < this.ttlMs ? entry.row : undefined;
  }

  /** The key's row, from memory when it is fresh, else from the database. Unknown prefixes are never cached. */
  async get(prefix: string): Promise<Row | null> {
    const entry = this.entries.get(prefix);
    if (entry && this.now() - entry.loadedAt < this.ttlMs) return entry.row;
    if (entry) this.entries.delete(prefix);
    // Until announcements reach this process, nothing may be served from memory.
    if (!this.subscribed) this.subscribe();
    const before = this.forgets;
    const loadedAt = this.now();
    const row = await this.load(prefix);
    if (row && this.subscribed && this.forgets === before) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(prefix, { row, loadedAt });
    }
    return row;
  }

  forget(prefix: string): void {
    this.forgets += 1;
    if (prefix === "*") this.entries.clear();
    else this.entries.delete(prefix);
  }

  private subscribe(): void {
    this.subscribing ??= this.database
      .listen(API_KEY_CHANGED_CHANNEL, (payload) => this.forget(payload))
      .then(() => {
        this.subscribed = true;
      })
      .catch(() => {
        // Try again on a later request; meanwhile every request reads the database.
        this.subscribing = null;
      });
  }
}

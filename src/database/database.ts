import type { PrismaClient } from "../generated/prisma/client.js";

/** What the rest of the gateway knows about its database, whichever engine serves it. */
export interface Database {
  readonly kind: "postgres" | "embedded";
  readonly prisma: PrismaClient;
  /**
   * One parameterised statement straight to the driver, for the few hot-path statements where Prisma's own
   * per-query cost dominates (authentication, rate-limit leases and run audit events, on every request).
   */
  query<Row>(sql: string, params: readonly unknown[]): Promise<Row[]>;
  /** Like `query`, for a statement that returns no rows: how many rows it changed. */
  execute(sql: string, params: readonly unknown[]): Promise<number>;
  /** Cheap round trip that fails within `timeoutMs` when the database is away. */
  ping(timeoutMs: number): Promise<void>;
  /** Names of migrations the database has applied. */
  appliedMigrations(): Promise<string[]>;
  /**
   * Subscribes to a Postgres NOTIFY channel; survives reconnects. The payload "*" means "notifications may
   * have been missed". Returns an unsubscribe function.
   */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Resolves once every notification committed before the call has reached this process's subscribers, so a
   * cache kept fresh by notifications can answer as if it had read the database. Rejects when that cannot be
   * known (the listening connection is away or slow); the caller must then read the database.
   * With `since` (a `process.hrtime.bigint()` reading), a round trip sent at or after that moment is enough: an
   * operation that began at `since` then waits once, however many caches it consults.
   */
  catchUp(since?: bigint): Promise<void>;
  close(): Promise<void>;
}

/**
 * Whether a cache kept fresh by this database's notifications may answer now: true once it has caught up with
 * every notification committed before the call, false when that cannot be known (then read the database).
 */
export async function caughtUp(database: Database, since?: bigint): Promise<boolean> {
  try {
    await database.catchUp(since);
    return true;
  } catch {
    return false;
  }
}

export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

export const APPLIED_MIGRATIONS_SQL = `SELECT migration_name FROM "_prisma_migrations"
  WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`;

import type { Database } from "../database/database.js";

const LEASE = `INSERT INTO rate_limit_windows (key, window_start, count) VALUES ($1, $2, $3)
  ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_windows.count + EXCLUDED.count
  RETURNING count`;
const DELETE_BEFORE = `DELETE FROM rate_limit_windows WHERE window_start < $1`;

/**
 * The window counters every gateway process shares (`rate_limit_windows`). Both statements go through the
 * driver's prepared statements: a lease is taken on the request path.
 */
export class RateLimitStore {
  constructor(private readonly database: Database) {}

  /** Adds `share` to the key's count in the window and returns the new count, atomically. */
  async lease(key: string, windowStart: Date, share: number): Promise<number> {
    const rows = await this.database.query<{ count: number }>(LEASE, [key, windowStart, share]);
    return Number(rows[0]!.count);
  }

  async deleteWindowsBefore(before: Date): Promise<void> {
    await this.database.execute(DELETE_BEFORE, [before]);
  }
}

import type { Database } from "../database/database.js";
import type { BaseRecording } from "../generated/prisma/client.js";
import type { Transaction } from "./transaction.js";

export type { BaseRecording };

export interface InputToRecord {
  tenantId: string;
  baseId: string;
  recordId: string;
  /** The (redacted) input as JSON text: stored as it is, in a `json` column. */
  json: string;
}

export interface RecordedInputRow {
  id: string;
  recordId: string;
  data: unknown;
  recordedAt: Date;
}

/** The shortest retention a base may have (days): nothing younger can have expired. */
const MIN_RETENTION_DAYS = 1;

/**
 * Three arrays of IDs zipped with the elements of one JSON array of inputs (ROWS FROM pairs them by position).
 * The column is `json`, so Postgres only checks each input's syntax and stores its text: no jsonb conversion,
 * no per-row extraction of the IDs from JSON.
 */
const APPEND_INPUTS = `INSERT INTO recorded_inputs (tenant_id, base_id, record_id, data)
  SELECT t, b, r, d FROM ROWS FROM (unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::uuid[]), json_array_elements($4::json)) AS i(t, b, r, d)`;

/**
 * Deletes a base's inputs beyond its newest $2 and answers the cutoff, the newest one's ID (none when nothing is beyond).
 * Only IDs above $3 are looked at: everything at or below it went in an earlier trim, and without that bound
 * the range would begin at the base's oldest index entry, walking every entry deleted since the last vacuum
 * each time. (Expired inputs are not this statement's business: the sweep deletes them, reads skip them.)
 */
const PRUNE_BASE = `WITH cutoff AS (SELECT id FROM recorded_inputs WHERE base_id = $1::uuid ORDER BY id DESC OFFSET $2::int LIMIT 1),
  pruned AS (DELETE FROM recorded_inputs WHERE base_id = $1::uuid AND id > $3::bigint AND id <= (SELECT id FROM cutoff))
  SELECT id::text FROM cutoff`;

const CLAIM_SWEEP = `INSERT INTO maintenance_sweeps (name, swept_at) VALUES ($1, now())
  ON CONFLICT (name) DO UPDATE SET swept_at = now()
  WHERE maintenance_sweeps.swept_at < now() - make_interval(secs => $2::int)
  RETURNING name`;

/** The rows found through the recorded_at index are deleted by their physical address (a TID scan, no second index walk). */
const DELETE_EXPIRED = `DELETE FROM recorded_inputs WHERE ctid = ANY(ARRAY(
  SELECT r.ctid FROM recorded_inputs r JOIN base_recordings s ON s.base_id = r.base_id
  WHERE r.recorded_at < now() - make_interval(days => $2::int)
    AND r.recorded_at < now() - make_interval(days => s.retention_days)
  ORDER BY r.recorded_at LIMIT $1::int))`;

/** Per-base input recording: its settings and the recorded, already redacted, inputs. */
export class RecordingStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  settingsOf(baseId: string): Promise<BaseRecording | null> {
    return this.prisma.baseRecording.findUnique({ where: { baseId } });
  }

  saveSettings(tx: Transaction, settings: Omit<BaseRecording, "updatedAt">): Promise<BaseRecording> {
    const { baseId, ...rest } = settings;
    return tx.baseRecording.upsert({ where: { baseId }, create: settings, update: { ...rest, updatedAt: new Date() } });
  }

  /**
   * One statement for a whole batch of runs' inputs, straight to the driver (like the run audit events): the
   * statement's text never changes, so it is prepared once per connection, and Prisma's per-query work stays
   * off the event loop of the run path. The inputs arrive already serialised, joined into one JSON array.
   */
  async append(inputs: readonly InputToRecord[]): Promise<void> {
    if (inputs.length === 0) return;
    const tenants: string[] = [];
    const bases: string[] = [];
    const records: string[] = [];
    const texts: string[] = [];
    for (const input of inputs) {
      tenants.push(input.tenantId);
      bases.push(input.baseId);
      records.push(input.recordId);
      texts.push(input.json);
    }
    await this.database.execute(APPEND_INPUTS, [tenants, bases, records, `[${texts.join(",")}]`]);
  }

  /**
   * Removes a base's inputs beyond its newest `maxInputs`, looking only at IDs above `above` (a cutoff an
   * earlier call answered, or "0"); answers this trim's cutoff (the ID of the newest input beyond the maximum),
   * or null when the base holds no more than `maxInputs`.
   */
  async prune(baseId: string, maxInputs: number, above = "0"): Promise<string | null> {
    const rows = await this.database.query<{ id: string }>(PRUNE_BASE, [baseId, maxInputs, above]);
    return rows[0]?.id ?? null;
  }

  /**
   * Claims the periodic sweep called `name` when nobody ran it within `intervalSeconds` (one row per sweep,
   * moved forward by the winner in one statement), so any number of processes run it once per interval.
   */
  async claimSweep(name: string, intervalSeconds: number): Promise<boolean> {
    const rows = await this.database.query<{ name: string }>(CLAIM_SWEEP, [name, intervalSeconds]);
    return rows.length > 0;
  }

  /**
   * Deletes every base's inputs older than its retention, at most `limit` rows (the oldest candidates first,
   * through the recorded_at index); returns how many went. Inputs of deleted bases expire the same way.
   */
  async deleteExpired(limit: number): Promise<number> {
    return this.database.execute(DELETE_EXPIRED, [limit, MIN_RETENTION_DAYS]);
  }

  /** The newest `last` inputs of a base still within `retentionDays`, newest first. */
  async latest(baseId: string, last: number, retentionDays: number): Promise<RecordedInputRow[]> {
    const rows = await this.prisma.recordedInput.findMany({
      where: { baseId, recordedAt: { gte: new Date(Date.now() - retentionDays * 86_400_000) } },
      orderBy: { id: "desc" },
      take: last,
    });
    return rows.map((row) => ({ id: row.id.toString(), recordId: row.recordId, data: row.data, recordedAt: row.recordedAt }));
  }
}

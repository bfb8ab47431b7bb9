import type { Database } from "../database/database.js";
import type { BaseRecording } from "../generated/prisma/client.js";
import type { Transaction } from "./transaction.js";

export type { BaseRecording };

export interface InputToRecord {
  tenantId: string;
  baseId: string;
  recordId: string;
  data: unknown;
}

export interface RecordedInputRow {
  id: string;
  recordId: string;
  data: unknown;
  recordedAt: Date;
}

/** The shortest retention a base may have (days): nothing younger can have expired. */
const MIN_RETENTION_DAYS = 1;

const APPEND_INPUTS = `INSERT INTO recorded_inputs (tenant_id, base_id, record_id, data)
  SELECT (e->>'t')::uuid, (e->>'b')::uuid, (e->>'r')::uuid, e->'d' FROM jsonb_array_elements($1::jsonb) AS e`;

const PRUNE_BASE = `DELETE FROM recorded_inputs WHERE base_id = $1::uuid AND (
  recorded_at < now() - make_interval(days => $2::int)
  OR id <= (SELECT id FROM recorded_inputs WHERE base_id = $1::uuid ORDER BY id DESC OFFSET $3::int LIMIT 1))`;

const CLAIM_SWEEP = `INSERT INTO maintenance_sweeps (name, swept_at) VALUES ($1, now())
  ON CONFLICT (name) DO UPDATE SET swept_at = now()
  WHERE maintenance_sweeps.swept_at < now() - make_interval(secs => $2::int)
  RETURNING name`;

const DELETE_EXPIRED = `DELETE FROM recorded_inputs WHERE id IN (
  SELECT r.id FROM recorded_inputs r JOIN base_recordings s ON s.base_id = r.base_id
  WHERE r.recorded_at < now() - make_interval(days => $2::int)
    AND r.recorded_at < now() - make_interval(days => s.retention_days)
  ORDER BY r.recorded_at LIMIT $1::int)`;

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
   * One statement for a whole batch of runs' inputs, straight to the driver with one JSON parameter (like the
   * run audit events): the statement's text never changes, so it is prepared once per connection, and Prisma's
   * per-query work stays off the event loop of the run path.
   */
  async append(inputs: readonly InputToRecord[]): Promise<void> {
    if (inputs.length === 0) return;
    const rows = inputs.map((input) => ({ t: input.tenantId, b: input.baseId, r: input.recordId, d: input.data }));
    await this.database.execute(APPEND_INPUTS, [JSON.stringify(rows)]);
  }

  /** Removes a base's inputs past their retention and beyond its newest `maxInputs`. */
  async prune(baseId: string, retentionDays: number, maxInputs: number): Promise<void> {
    await this.database.execute(PRUNE_BASE, [baseId, retentionDays, maxInputs]);
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

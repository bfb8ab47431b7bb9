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
  /** The chunk's ID × CHUNK_ID_STRIDE + the input's position in it: orders inputs as they were recorded. */
  id: string;
  recordId: string;
  data: unknown;
  recordedAt: Date;
}

/** The shortest retention a base may have (days): nothing younger can have expired. */
const MIN_RETENTION_DAYS = 1;

/** A chunk holds at most this many inputs; an input's ID is its chunk's ID times this plus its position. */
export const CHUNK_ID_STRIDE = 1024;

/**
 * One row per chunk: arrays of the chunks' IDs and input counts zipped with the elements of one JSON array whose
 * elements are the chunks' arrays of inputs (ROWS FROM pairs them by position). Postgres parses the JSON once and
 * stores each chunk's text as it is (`json`), compressed when it is long.
 */
const APPEND_CHUNKS = `INSERT INTO recorded_input_chunks (tenant_id, base_id, record_id, input_count, inputs)
  SELECT t, b, r, n, i FROM ROWS FROM (unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::int[]), json_array_elements($5::json))
  AS c(t, b, r, n, i)`;

/**
 * Deletes a base's chunks whose every input is beyond its newest $2 (the newer chunks hold at least $2 inputs)
 * and answers the cutoff, the newest deleted chunk's ID. Only IDs above $3 are looked at: everything at or below
 * it went in an earlier trim, and without that bound the range would begin at the base's oldest index entry,
 * walking every entry deleted since the last vacuum each time. The chunk holding the oldest of the newest $2
 * stays whole, so a base holds up to a chunk's worth more; reads stop at $2. (Expired chunks are not this
 * statement's business: the sweep deletes them, reads skip them.)
 */
const PRUNE_BASE = `WITH newer AS (
    SELECT id, sum(input_count) OVER (ORDER BY id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newer
    FROM recorded_input_chunks WHERE base_id = $1::uuid AND id > $3::bigint),
  pruned AS (DELETE FROM recorded_input_chunks WHERE base_id = $1::uuid AND id > $3::bigint AND id IN (SELECT id FROM newer WHERE newer >= $2::int) RETURNING id)
  SELECT max(id)::text AS id FROM pruned`;

/**
 * A base's newest chunks within retention ($2 days) that hold its newest $3 inputs, newest first: each chunk whose
 * newer chunks hold fewer than $3 inputs.
 */
const LATEST_CHUNKS = `SELECT c.id::text AS chunk_id, record_id, inputs::text, recorded_at FROM (
    SELECT id, record_id, inputs, recorded_at,
      coalesce(sum(input_count) OVER (ORDER BY id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer
    FROM recorded_input_chunks WHERE base_id = $1::uuid AND recorded_at >= now() - make_interval(days => $2::int)) c
  WHERE newer < $3::int ORDER BY c.id DESC`;

const CLAIM_SWEEP = `INSERT INTO maintenance_sweeps (name, swept_at) VALUES ($1, now())
  ON CONFLICT (name) DO UPDATE SET swept_at = now()
  WHERE maintenance_sweeps.swept_at < now() - make_interval(secs => $2::int)
  RETURNING name`;

/** The rows found through the recorded_at index are deleted by their physical address (a TID scan, no second index walk). */
const DELETE_EXPIRED = `DELETE FROM recorded_input_chunks WHERE ctid = ANY(ARRAY(
  SELECT r.ctid FROM recorded_input_chunks r JOIN base_recordings s ON s.base_id = r.base_id
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
   * off the event loop of the run path. The inputs arrive already serialised; consecutive inputs of one base and
   * record are written as one chunk (in the order given, at most CHUNK_ID_STRIDE each).
   */
  async append(inputs: readonly InputToRecord[]): Promise<void> {
    if (inputs.length === 0) return;
    const chunks = new Map<string, { first: InputToRecord; texts: string[] }[]>();
    for (const input of inputs) {
      const key = `${input.baseId}/${input.recordId}`;
      let list = chunks.get(key);
      if (!list) chunks.set(key, (list = []));
      let chunk = list.at(-1);
      if (!chunk || chunk.texts.length >= CHUNK_ID_STRIDE) list.push((chunk = { first: input, texts: [] }));
      chunk.texts.push(input.json);
    }
    const tenants: string[] = [];
    const bases: string[] = [];
    const records: string[] = [];
    const counts: number[] = [];
    const arrays: string[] = [];
    for (const list of chunks.values()) {
      for (const { first, texts } of list) {
        tenants.push(first.tenantId);
        bases.push(first.baseId);
        records.push(first.recordId);
        counts.push(texts.length);
        arrays.push(`[${texts.join(",")}]`);
      }
    }
    await this.database.execute(APPEND_CHUNKS, [tenants, bases, records, counts, `[${arrays.join(",")}]`]);
  }

  /**
   * Removes a base's chunks whose inputs are all beyond its newest `maxInputs`, looking only at chunks above
   * `above` (a cutoff an earlier call answered, or "0"); answers this trim's cutoff (the newest chunk deleted),
   * or null when nothing was beyond.
   */
  async prune(baseId: string, maxInputs: number, above = "0"): Promise<string | null> {
    const rows = await this.database.query<{ id: string | null }>(PRUNE_BASE, [baseId, maxInputs, above]);
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
    const chunks = await this.database.query<{ chunk_id: string; record_id: string; inputs: string; recorded_at: Date }>(LATEST_CHUNKS, [
      baseId,
      retentionDays,
      last,
    ]);
    const rows: RecordedInputRow[] = [];
    for (const chunk of chunks) {
      const inputs = JSON.parse(chunk.inputs) as unknown[];
      const base = BigInt(chunk.chunk_id) * BigInt(CHUNK_ID_STRIDE);
      for (let position = inputs.length - 1; position >= 0 && rows.length < last; position--) {
        rows.push({ id: (base + BigInt(position)).toString(), recordId: chunk.record_id, data: inputs[position], recordedAt: chunk.recorded_at });
      }
    }
    return rows;
  }
}

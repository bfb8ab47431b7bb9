import type { Database } from "../database/database.js";
import type { BaseShadow, ShadowDisagreement } from "../generated/prisma/client.js";
import type { Transaction } from "./transaction.js";

export type { BaseShadow, ShadowDisagreement };

/** How many of a base's latest disagreements are kept (a ring of this many slots per base). */
export const DISAGREEMENTS_KEPT = 20;

/** A disagreement (or shadow error) as a process noted it, before it is written. */
export interface NotedDisagreement {
  liveRecordId: string;
  shadowRecordId: string;
  liveResult: unknown;
  liveError: string | null;
  shadowResult: unknown;
  shadowError: string | null;
  data: unknown;
  occurredAt: Date;
}

/** What one process counted for one base's shadow since its last flush. */
export interface ShadowTally {
  baseId: string;
  /** The shadow record the counts are about: counts for a shadow replaced meanwhile are discarded. */
  shadowRecordId: string;
  agreed: number;
  disagreed: number;
  errors: number;
  dropped: number;
  lastRunAt: Date | null;
  /** How many disagreements and errors were noted in all, and the latest DISAGREEMENTS_KEPT of them. */
  noted: number;
  kept: NotedDisagreement[];
}

/** A base's shadow counters for /metrics: live (not deleted) bases only. */
export interface ShadowTotals {
  tenantId: string;
  baseId: string;
  /** int8 columns: the driver may answer them as text. */
  agreed: number | string;
  disagreed: number | string;
  errors: number | string;
  dropped: number | string;
}

/**
 * Adds every tally of a flush in one statement: the counters of each base's row (only while it still names the
 * same shadow record), then its noted disagreements into the ring. The rows are locked in base order, so two
 * processes flushing overlapping bases never deadlock; each statement's RETURNING sees the totals it made, so
 * ring positions never collide between processes. Numbers travel as JSON text (one parameter).
 */
const ADD_TALLIES = `
  WITH t AS (
    SELECT (e->>'baseId')::uuid AS base_id, (e->>'shadowRecordId')::uuid AS record_id,
           (e->>'agreed')::bigint AS agreed, (e->>'disagreed')::bigint AS disagreed, (e->>'errors')::bigint AS errors,
           (e->>'dropped')::bigint AS dropped, (e->>'lastRunAt')::timestamptz AS last_run_at,
           (e->>'noted')::bigint AS noted, e->'kept' AS kept
    FROM jsonb_array_elements($1::jsonb) AS e
  ),
  locked AS (
    SELECT s.base_id FROM base_shadows s JOIN t ON t.base_id = s.base_id AND t.record_id = s.record_id
    ORDER BY s.base_id FOR UPDATE OF s
  ),
  updated AS (
    UPDATE base_shadows s SET
      runs = s.runs + t.agreed + t.disagreed + t.errors,
      agreed = s.agreed + t.agreed, disagreed = s.disagreed + t.disagreed, errors = s.errors + t.errors,
      dropped = s.dropped + t.dropped,
      last_run_at = CASE WHEN s.last_run_at IS NULL OR s.last_run_at < t.last_run_at THEN t.last_run_at ELSE s.last_run_at END
    FROM t JOIN locked l ON l.base_id = t.base_id
    WHERE s.base_id = t.base_id
    RETURNING s.base_id, s.tenant_id, s.disagreed + s.errors AS total, t.noted, t.kept
  )
  INSERT INTO shadow_disagreements AS d (base_id, slot, tenant_id, sequence, live_record_id, shadow_record_id,
    live_result, live_error, shadow_result, shadow_error, data, occurred_at)
  SELECT u.base_id, ((u.total - u.noted + (k->>'ordinal')::bigint) % $2::int)::int, u.tenant_id,
         u.total - u.noted + (k->>'ordinal')::bigint, (k->>'liveRecordId')::uuid, (k->>'shadowRecordId')::uuid,
         NULLIF(k->'liveResult', 'null'), k->>'liveError', NULLIF(k->'shadowResult', 'null'), k->>'shadowError',
         NULLIF(k->'data', 'null'), (k->>'occurredAt')::timestamptz
  FROM updated u CROSS JOIN LATERAL jsonb_array_elements(u.kept) AS k
  ON CONFLICT (base_id, slot) DO UPDATE SET
    tenant_id = excluded.tenant_id, sequence = excluded.sequence, live_record_id = excluded.live_record_id,
    shadow_record_id = excluded.shadow_record_id, live_result = excluded.live_result, live_error = excluded.live_error,
    shadow_result = excluded.shadow_result, shadow_error = excluded.shadow_error, data = excluded.data,
    occurred_at = excluded.occurred_at`;

const TOTALS = `SELECT s.tenant_id AS "tenantId", s.base_id AS "baseId", s.agreed, s.disagreed, s.errors, s.dropped
  FROM base_shadows s JOIN bases b ON b.id = s.base_id WHERE b.deleted_at IS NULL ORDER BY s.base_id LIMIT $1::int`;

/** Shadow runs (src/modules/replay/README.md): which record shadows a base, its agreement counters and its latest disagreements. */
export class ShadowStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  shadowOf(baseId: string, reader: Pick<Transaction, "baseShadow"> = this.prisma): Promise<BaseShadow | null> {
    return reader.baseShadow.findUnique({ where: { baseId } });
  }

  /** The base's latest disagreements, newest first. */
  disagreements(baseId: string): Promise<ShadowDisagreement[]> {
    return this.prisma.shadowDisagreement.findMany({ where: { baseId }, orderBy: { sequence: "desc" } });
  }

  /** Names a new shadow record for the base: its counters and disagreements start again. */
  async replace(tx: Transaction, shadow: { baseId: string; tenantId: string; recordId: string; setById: string | null }): Promise<BaseShadow> {
    await tx.shadowDisagreement.deleteMany({ where: { baseId: shadow.baseId } });
    const fresh = { ...shadow, setAt: new Date(), runs: 0n, agreed: 0n, disagreed: 0n, errors: 0n, dropped: 0n, lastRunAt: null };
    return tx.baseShadow.upsert({ where: { baseId: shadow.baseId }, create: fresh, update: fresh });
  }

  /** The base has no shadow any more; its results go with it. */
  async clear(tx: Transaction, baseId: string): Promise<void> {
    await tx.shadowDisagreement.deleteMany({ where: { baseId } });
    await tx.baseShadow.deleteMany({ where: { baseId } });
  }

  /** One statement for every base a process counted since its last flush (see ADD_TALLIES). */
  async addTallies(tallies: readonly ShadowTally[]): Promise<void> {
    if (tallies.length === 0) return;
    const rows = tallies.map((tally) => ({
      ...tally,
      // The kept disagreements are the last of `noted`: their ordinals among all of them number the ring.
      kept: tally.kept.map((entry, index) => ({ ...entry, ordinal: tally.noted - tally.kept.length + index + 1 })),
    }));
    await this.database.execute(ADD_TALLIES, [JSON.stringify(rows), DISAGREEMENTS_KEPT]);
  }

  /** Every live base's shadow counters (at most `limit` bases), for /metrics. */
  totals(limit: number): Promise<ShadowTotals[]> {
    return this.database.query<ShadowTotals>(TOTALS, [limit]);
  }
}

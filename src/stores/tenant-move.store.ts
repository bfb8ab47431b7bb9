import type { Database } from "../database/database.js";
import { RESOURCE_CHANGED_CHANNEL } from "./base.store.js";
import { API_KEY_CHANGED_CHANNEL, USER_CHANGED_CHANNEL } from "./identity.store.js";
import type { Transaction } from "./transaction.js";

/**
 * Every table that holds a tenant's data, in an order that satisfies the foreign keys when inserting (deleting
 * goes backwards). `test/tenancy/tenant-move.test.ts` checks against the live schema that every table with a
 * `tenant_id` column is here or in NOT_MOVED, so a new table cannot be forgotten by `tenant move` silently.
 *
 * `renumbered` names a column the target database hands out itself (a serial): copying the source's values
 * could collide with other tenants' rows in the shared database, so rows are inserted without it, in its order.
 */
export const TENANT_TABLES: readonly { table: string; renumbered?: string }[] = [
  { table: "users" },
  { table: "api_keys" },
  { table: "bases" },
  { table: "drafts" },
  { table: "versions" },
  { table: "groups" },
  { table: "group_members" },
  { table: "approval_policies" },
  { table: "change_requests" },
  { table: "change_request_decisions" },
  { table: "base_recordings" },
  { table: "recorded_input_chunks", renumbered: "id" },
  { table: "base_shadows" },
  { table: "shadow_disagreements" },
  { table: "audit_events" },
  { table: "audit_chain_heads" },
];

/**
 * Tables with a `tenant_id` that a move does not copy, and why: the registry row stays in the control database
 * (the target gets its own `tenants` row when provisioned), and the identity row belongs to a database, not to
 * the tenant's data. Rate-limit windows carry no tenant (they are keyed by API key or client IP) and live at
 * most one window: a moved tenant starts with fresh windows.
 */
export const NOT_MOVED: readonly string[] = ["tenants", "tenant_database_identity"];

/** Rows and a digest of their content, per table: equal on source and target means the copy is exact. */
export type TenantFingerprint = Record<string, { rows: number; digest: string }>;

/** The GUC the `refuse_change` trigger reads: set in the deleting transaction, it allows deleting this tenant's versions and audit events. */
const MOVE_SETTING = "verdict.tenant_move";

const quoted = (table: string): string => `"${table.replace(/"/g, "")}"`;

/** The row as compared: jsonb (canonical key order), without a renumbered column. */
const rowText = (renumbered: string | undefined): string => `((to_jsonb(t) - '${renumbered ?? ""}')::text)`;

/**
 * Rows appear in or vanish from this database without the statements that announce them one by one: "*" tells
 * every gateway's key, user and compiled-record caches over this database that they may have missed announcements
 * (they drop everything), so a graph kept open from an earlier stay of the tenant here serves nothing stale.
 */
async function announceBulkChange(tx: Transaction): Promise<void> {
  for (const channel of [API_KEY_CHANGED_CHANNEL, USER_CHANGED_CHANNEL, RESOURCE_CHANGED_CHANNEL])
    await tx.$executeRawUnsafe("SELECT pg_notify($1, '*')", channel);
}

/** Long copies must not hit Prisma's 5 s default for interactive transactions. */
const LONG = { timeout: 15 * 60_000, maxWait: 30_000 } as const;

/**
 * The statements of `tenant move` (src/cli/tenant-move.ts): a consistent read of one tenant's rows in one
 * database, their insertion in another, the comparison of both, and the removal from the database left.
 */
export class TenantMoveStore {
  constructor(private readonly database: Database) {}

  /** Per table: the tenant's rows here and a digest of their content (timestamps compared in UTC). */
  fingerprint(tenantId: string): Promise<TenantFingerprint> {
    return this.database.prisma.$transaction(async (tx) => fingerprintIn(tx, tenantId), { ...LONG, isolationLevel: "RepeatableRead" });
  }

  /**
   * The tenant's rows of every table as JSON text, and their fingerprint, from one snapshot (REPEATABLE READ),
   * so the copy is consistent across tables even if a write slipped in.
   */
  snapshot(tenantId: string): Promise<{ tables: { table: string; renumbered?: string; json: string }[]; fingerprint: TenantFingerprint }> {
    return this.database.prisma.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe("SET LOCAL TimeZone = 'UTC'");
        const tables: { table: string; renumbered?: string; json: string }[] = [];
        for (const { table, renumbered } of TENANT_TABLES) {
          const [row] = await tx.$queryRawUnsafe<{ json: string }[]>(
            `SELECT coalesce(json_agg(t ORDER BY ${renumbered ? `t.${quoted(renumbered)}` : "t.ctid"}), '[]')::text AS json
               FROM ${quoted(table)} t WHERE t.tenant_id = $1::uuid`,
            tenantId,
          );
          tables.push({ table, renumbered, json: row?.json ?? "[]" });
        }
        return { tables, fingerprint: await fingerprintIn(tx, tenantId) };
      },
      { ...LONG, isolationLevel: "RepeatableRead" },
    );
  }

  /** Inserts the rows of `snapshot` here, all tables in one transaction. The caller has checked there are none yet. */
  async insert(tables: readonly { table: string; renumbered?: string; json: string }[]): Promise<void> {
    await this.database.prisma.$transaction(async (tx) => {
      for (const { table, renumbered, json } of tables) {
        if (json === "[]") continue;
        if (!renumbered) {
          await tx.$executeRawUnsafe(`INSERT INTO ${quoted(table)} SELECT * FROM json_populate_recordset(NULL::${quoted(table)}, $1::json)`, json);
          continue;
        }
        const columns = await tx.$queryRawUnsafe<{ name: string }[]>(
          "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> $2 ORDER BY ordinal_position",
          table,
          renumbered,
        );
        const list = columns.map((c) => quoted(c.name)).join(", ");
        await tx.$executeRawUnsafe(
          `INSERT INTO ${quoted(table)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${quoted(table)}, $1::json) ORDER BY ${quoted(renumbered)}`,
          json,
        );
      }
      await announceBulkChange(tx);
    }, LONG);
  }

  /**
   * Removes the tenant's rows from every table here, in one transaction (foreign keys backwards). Its registry
   * row (and a dedicated database's identity row) stay.
   */
  async remove(tenantId: string): Promise<void> {
    await this.database.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SELECT set_config('${MOVE_SETTING}', $1, true)`, tenantId.toLowerCase());
      for (const { table } of [...TENANT_TABLES].reverse()) {
        await tx.$executeRawUnsafe(`DELETE FROM ${quoted(table)} WHERE tenant_id = $1::uuid`, tenantId);
      }
      await announceBulkChange(tx);
    }, LONG);
  }

  /** Every table of this database's schema that has a `tenant_id` column (for the completeness test). */
  async tablesWithTenantId(): Promise<string[]> {
    const rows = await this.database.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY table_name",
      [],
    );
    return rows.map((r) => r.name);
  }
}

async function fingerprintIn(tx: Transaction, tenantId: string): Promise<TenantFingerprint> {
  await tx.$executeRawUnsafe("SET LOCAL TimeZone = 'UTC'");
  const result: TenantFingerprint = {};
  for (const { table, renumbered } of TENANT_TABLES) {
    const text = rowText(renumbered);
    const [row] = await tx.$queryRawUnsafe<{ rows: number; digest: string }[]>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(${text}, E'\\n' ORDER BY ${text}), '')) AS digest
         FROM ${quoted(table)} t WHERE t.tenant_id = $1::uuid`,
      tenantId,
    );
    result[table] = { rows: row?.rows ?? 0, digest: row?.digest ?? "" };
  }
  return result;
}

/** Tables whose rows or content differ between two fingerprints. */
export function fingerprintDifferences(a: TenantFingerprint, b: TenantFingerprint): string[] {
  return TENANT_TABLES.map(({ table }) => table).filter((t) => a[t]?.rows !== b[t]?.rows || a[t]?.digest !== b[t]?.digest);
}

/** Whether the tenant has no row in any moved table. */
export const isEmpty = (fingerprint: TenantFingerprint): boolean => Object.values(fingerprint).every((t) => t.rows === 0);

/**
 * Proves that a database built by prisma/migrations/* is the database prisma/schema.prisma describes.
 *
 * Two fresh Postgres databases: one gets the SQL Prisma renders for the schema from scratch
 * (`migrate diff --from-empty --to-schema-datamodel`, via tools/migration-author/schema-sql.mjs, which
 * installs that tool's own dependencies under flock when they are missing), the other gets every
 * migration through the gateway's migrator. Their catalogs must match: tables, columns (type,
 * nullability, default, identity/generated), enums and values, indexes (uniqueness, method, columns),
 * primary/unique/foreign keys (with ON DELETE / ON UPDATE), sequences and extensions.
 *
 * SQL the schema cannot express (triggers, functions, check constraints, partial or expression
 * indexes, views, row-level security) is not part of that comparison; it is listed in
 * EXPECTED_EXTRAS instead, so adding, changing or losing any of it is a deliberate edit here.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../src/database/migrator.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MIGRATIONS_DIR = path.join(ROOT, "prisma/migrations");
const SCHEMA_SQL_TOOL = path.join(ROOT, "tools/migration-author/schema-sql.mjs");
/** The server the suite runs against (CI sets TEST_DATABASE_URL); two databases are created on it and dropped. */
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Hand-written SQL in the migrations that the Prisma schema cannot describe, found in the migrated
 * database only. Keep in step with the "hand-written" sections of the migration files.
 */
const EXPECTED_EXTRAS: Extras = {
  functions: [
    "announce_audit_event() RETURNS trigger",
    "announce_tenant_binding_to_users() RETURNS trigger",
    "announce_user_change() RETURNS trigger",
    "refuse_change() RETURNS trigger",
  ],
  triggers: [
    "audit_events.audit_events_announce: CREATE TRIGGER audit_events_announce AFTER INSERT ON public.audit_events FOR EACH ROW WHEN ((new.action <> 'EXECUTED'::\"AuditAction\")) EXECUTE FUNCTION announce_audit_event()",
    "audit_events.audit_events_append_only: CREATE TRIGGER audit_events_append_only BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    "tenants.tenants_announce_binding_to_users: CREATE TRIGGER tenants_announce_binding_to_users AFTER UPDATE OF database_binding ON public.tenants FOR EACH ROW WHEN (((old.database_binding)::text IS DISTINCT FROM (new.database_binding)::text)) EXECUTE FUNCTION announce_tenant_binding_to_users()",
    "users.users_announce_change: CREATE TRIGGER users_announce_change AFTER DELETE OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION announce_user_change()",
    "versions.versions_immutable: CREATE TRIGGER versions_immutable BEFORE DELETE OR UPDATE ON public.versions FOR EACH ROW EXECUTE FUNCTION refuse_change()",
  ],
  checkConstraints: [
    "bases.bases_alias_format: CHECK ((((alias)::text ~ '^[a-z0-9_-]{1,64}$'::text) AND ((alias)::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'::text)))",
    "tenant_database_identity.tenant_database_identity_one_row: CHECK (singleton)",
  ],
  partialOrExpressionIndexes: [
    "CREATE INDEX audit_events_tenant_id_action_occurred_at_idx ON public.audit_events USING btree (tenant_id, action, occurred_at) WHERE (action <> 'EXECUTED'::\"AuditAction\")",
    "CREATE UNIQUE INDEX bases_tenant_id_alias_live_key ON public.bases USING btree (tenant_id, alias) WHERE (deleted_at IS NULL)",
  ],
  views: [],
  rowLevelSecurity: [],
};

interface Extras {
  functions: string[];
  triggers: string[];
  checkConstraints: string[];
  partialOrExpressionIndexes: string[];
  views: string[];
  rowLevelSecurity: string[];
}

interface Catalog {
  tables: string[];
  columns: Record<string, unknown>[];
  enums: Record<string, unknown>[];
  indexes: Record<string, unknown>[];
  constraints: Record<string, unknown>[];
  sequences: Record<string, unknown>[];
  extensions: string[];
  extras: Extras;
}

/** Every table here lives in `public`; Prisma's own bookkeeping table is the migrator's, not the schema's. */
const TABLE_FILTER = `n.nspname = 'public' AND c.relname <> '_prisma_migrations'`;

async function readCatalog(client: pg.Client): Promise<Catalog> {
  const rows = async (sql: string) => (await client.query(sql)).rows;

  const tables = (
    await rows(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND ${TABLE_FILTER} ORDER BY 1`)
  ).map((r) => r.relname as string);

  // Column order is not compared: a migration adding a column appends it, while the from-scratch
  // SQL follows the model's field order. Prisma treats both as the same schema.
  const columns = await rows(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
           a.attidentity AS identity, a.attgenerated AS generated, co.collname AS collation
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'default')
    WHERE c.relkind IN ('r', 'p') AND ${TABLE_FILTER} AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY 1, 2`);

  // Enum values are compared as a set: Prisma appends a new value (ALTER TYPE … ADD VALUE) whatever
  // its position in the schema, and its own migration checks ignore the order too.
  const enums = await rows(`
    SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumlabel::text) AS values
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname = 'public' GROUP BY t.typname ORDER BY 1`);

  // The definition covers uniqueness, method (btree, gin…), column list and order, sort options.
  const allIndexes = await rows(`
    SELECT c.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
           pg_get_indexdef(x.indexrelid) AS definition,
           x.indpred IS NOT NULL OR x.indexprs IS NOT NULL AS partial_or_expression
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${TABLE_FILTER} ORDER BY 1, 2`);
  const indexes = allIndexes.filter((r) => !r.partial_or_expression).map(({ partial_or_expression, ...r }) => r);

  // Primary keys, unique constraints and foreign keys; the definition of a foreign key names the
  // referenced table and columns and its ON UPDATE / ON DELETE actions (omitted when NO ACTION).
  const allConstraints = await rows(`
    SELECT c.relname AS table, k.conname AS name, k.contype AS kind, pg_get_constraintdef(k.oid) AS definition,
           k.confupdtype AS on_update, k.confdeltype AS on_delete, k.condeferrable AS deferrable
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${TABLE_FILTER} ORDER BY 1, 2`);
  const constraints = allConstraints.filter((r) => r.kind !== "c");

  const sequences = await rows(`
    SELECT c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqincrement AS increment,
           s.seqstart AS start, owner.relname || '.' || a.attname AS owned_by
    FROM pg_sequence s
    JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    LEFT JOIN pg_class owner ON owner.oid = d.refobjid
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE n.nspname = 'public' AND c.relname <> '_prisma_migrations' ORDER BY 1`);

  const extensions = (await rows(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`)).map((r) => r.extname as string);

  const extras: Extras = {
    functions: (
      await rows(`
        SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') RETURNS ' || pg_get_function_result(p.oid) AS f
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' ORDER BY 1`)
    ).map((r) => r.f as string),
    triggers: (
      await rows(`
        SELECT c.relname || '.' || t.tgname || ': ' || pg_get_triggerdef(t.oid) AS t
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND ${TABLE_FILTER} ORDER BY 1`)
    ).map((r) => r.t as string),
    checkConstraints: allConstraints.filter((r) => r.kind === "c").map((r) => `${r.table}.${r.name}: ${r.definition}`),
    partialOrExpressionIndexes: allIndexes.filter((r) => r.partial_or_expression).map((r) => r.definition as string),
    views: (
      await rows(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('v', 'm') AND n.nspname = 'public' ORDER BY 1`)
    ).map((r) => r.relname as string),
    rowLevelSecurity: (
      await rows(`
        SELECT c.relname || ' enabled' AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relrowsecurity AND ${TABLE_FILTER}
        UNION ALL
        SELECT tablename || '.' || policyname FROM pg_policies WHERE schemaname = 'public' ORDER BY 1`)
    ).map((r) => r.r as string),
  };

  return { tables, columns, enums, indexes, constraints, sequences, extensions, extras };
}

const suffix = `${process.pid}_${Date.now().toString(36)}`;
const FROM_SCHEMA_DB = `verdict_test_schema_${suffix}`;
const FROM_MIGRATIONS_DB = `verdict_test_migrations_${suffix}`;

describe("prisma/migrations produce the database prisma/schema.prisma describes", () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  let fromSchema: Catalog;
  let fromMigrations: Catalog;
  let applied: string[];

  beforeAll(async () => {
    // Runs the tool first: on a fresh checkout it installs tools/migration-author's deps (npm ci).
    const schemaSql = (await promisify(execFile)(process.execPath, [SCHEMA_SQL_TOOL], { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 })).stdout;
    expect(schemaSql).toMatch(/CREATE TABLE/);

    await admin.connect();
    await admin.query(`CREATE DATABASE "${FROM_SCHEMA_DB}"`);
    await admin.query(`CREATE DATABASE "${FROM_MIGRATIONS_DB}"`);

    const a = new pg.Client({ connectionString: databaseUrl(FROM_SCHEMA_DB) });
    const b = new pg.Client({ connectionString: databaseUrl(FROM_MIGRATIONS_DB) });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.query(schemaSql);
      ({ applied } = await applyMigrations(b, MIGRATIONS_DIR));
      [fromSchema, fromMigrations] = await Promise.all([readCatalog(a), readCatalog(b)]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  }, 180_000);

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${FROM_SCHEMA_DB}" WITH (FORCE)`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS "${FROM_MIGRATIONS_DB}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  });

  it("applies at least one migration", () => {
    expect(applied.length).toBeGreaterThan(0);
    expect(fromMigrations.tables.length).toBeGreaterThan(0);
  });

  it("has the same tables", () => {
    expect(fromMigrations.tables).toEqual(fromSchema.tables);
  });

  it("has the same columns: type, nullability, default, identity, generated, collation", () => {
    expect(fromMigrations.columns).toEqual(fromSchema.columns);
  });

  it("has the same enums and enum values", () => {
    expect(fromMigrations.enums).toEqual(fromSchema.enums);
  });

  it("has the same indexes: name, uniqueness, method and columns", () => {
    expect(fromMigrations.indexes).toEqual(fromSchema.indexes);
  });

  it("has the same primary keys, unique constraints and foreign keys (with ON DELETE / ON UPDATE)", () => {
    expect(fromMigrations.constraints).toEqual(fromSchema.constraints);
  });

  it("has the same sequences and extensions", () => {
    expect(fromMigrations.sequences).toEqual(fromSchema.sequences);
    expect(fromMigrations.extensions).toEqual(fromSchema.extensions);
  });

  it("has exactly the listed hand-written extras, which the schema itself does not produce", () => {
    expect(fromMigrations.extras).toEqual(EXPECTED_EXTRAS);
    expect(fromSchema.extras).toEqual({
      functions: [],
      triggers: [],
      checkConstraints: [],
      partialOrExpressionIndexes: [],
      views: [],
      rowLevelSecurity: [],
    });
  });
});

import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { readMigrations } from "../../src/database/migrator.js";
import { MIGRATIONS_DIR, migratePostgres } from "../../src/database/open.js";

/** The server the suite runs against; CI and the README point it at the local Postgres 15. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A migrated template named after the migrations' checksums, so it is rebuilt only when they change. */
export async function ensureTemplateDatabase(): Promise<string> {
  const migrations = await readMigrations(MIGRATIONS_DIR);
  const digest = createHash("sha256")
    .update(migrations.map((m) => m.checksum).join(","))
    .digest("hex")
    .slice(0, 16);
  const name = `verdict_template_${digest}`;
  const exists = await withAdminClient(async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    return rowCount === 1;
  });
  if (!exists) {
    const building = `${name}_building_${randomBytes(4).toString("hex")}`;
    await withAdminClient((client) => client.query(`CREATE DATABASE ${building}`));
    await migratePostgres(databaseUrl(building));
    await withAdminClient(async (client) => {
      try {
        await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      } catch {
        await client.query(`DROP DATABASE IF EXISTS ${building}`); // another run built it first
      }
    });
  }
  return name;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * Set by the suite's global setup: the run whose test databases its teardown drops. Every DROP DATABASE waits for
 * a checkpoint (about as long as the copy took), so the suite drops its databases together at the end, where
 * concurrent drops share checkpoints, instead of one by one after each file. Outside a vitest run (benchmarks)
 * a database is dropped when asked.
 */
export const TEST_RUN_VARIABLE = "VERDICT_TEST_RUN";

const runPrefix = (run: string): string => `verdict_test_${run}_`;

/** A fresh, migrated database of its own for one test file: copying the template takes milliseconds. */
export async function createTestDatabase(template: string): Promise<TestDatabase> {
  const run = process.env[TEST_RUN_VARIABLE];
  const name = `${run ? runPrefix(run) : "verdict_test_"}${randomBytes(6).toString("hex")}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const dropNow = () => withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {});
  return { name, url: databaseUrl(name), drop: run ? async () => {} : dropNow };
}

/** Drops every database of a run (its connections too), many at a time. */
export async function dropTestDatabases(run: string): Promise<void> {
  const names = await withAdminClient(async (client) => {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [runPrefix(run)]);
    return rows.map((row) => row.datname);
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      }
    }),
  );
}

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

/** A fresh, migrated database of its own for one test file: copying the template takes milliseconds. */
export async function createTestDatabase(template: string): Promise<TestDatabase> {
  const name = `verdict_test_${randomBytes(6).toString("hex")}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

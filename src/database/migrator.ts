import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/**
 * Applies `prisma/migrations/<name>/migration.sql` folders the way `prisma migrate deploy` does, because
 * Prisma's own schema engine cannot be downloaded on these machines. It keeps Prisma's bookkeeping table
 * and checksums, so Prisma's CLI, where available, sees the same state and applies only newer folders.
 */

/** One dedicated connection. A query without parameters may hold several statements. */
export interface MigrationConnection {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Prisma's advisory lock key, so a Prisma CLI and this migrator never run at the same time. */
const PRISMA_ADVISORY_LOCK = 72707369;

const BOOKKEEPING_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(migrationsDir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export async function applyMigrations(
  connection: MigrationConnection,
  migrationsDir: string,
  log: (message: string) => void = () => {},
): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(migrationsDir);
  await connection.query(`SELECT pg_advisory_lock(${PRISMA_ADVISORY_LOCK})`);
  try {
    await connection.query(BOOKKEEPING_TABLE);
    const { rows } = await connection.query(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`);
    const appliedRows = rows as AppliedRow[];
    const failed = appliedRows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(`Migration ${failed.migration_name} failed earlier and was not rolled back; resolve it before migrating again`);
    }
    const done = new Map(appliedRows.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const previous = done.get(migration.name);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          log(`warning: migration ${migration.name} was changed after it was applied`);
        }
        continue;
      }
      await applyOne(connection, migration);
      applied.push(migration.name);
      log(`applied migration ${migration.name}`);
    }
    return { applied };
  } finally {
    await connection.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK})`);
  }
}

async function applyOne(connection: MigrationConnection, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  await connection.query("BEGIN");
  try {
    await connection.query(migration.sql);
    await connection.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 1)`,
      [id, migration.checksum, migration.name],
    );
    await connection.query("COMMIT");
  } catch (error) {
    await connection.query("ROLLBACK");
    // Recorded outside the rolled-back transaction so the next run refuses to continue, as Prisma does.
    await connection.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs) VALUES ($1, $2, $3, $4)`, [
      id,
      migration.checksum,
      migration.name,
      String(error),
    ]);
    throw new MigrationError(`Migration ${migration.name} failed: ${(error as Error).message}`);
  }
}

/** Names of migrations present in the folder but not applied to the database. */
export async function pendingMigrations(connection: Pick<MigrationConnection, "query">, migrationsDir: string): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  const { rows } = await connection.query(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`);
  const applied = new Set((rows as { migration_name: string }[]).map((r) => r.migration_name));
  return migrations.map((m) => m.name).filter((name) => !applied.has(name));
}

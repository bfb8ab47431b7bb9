import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
import { lockDataDir } from "./data-dir-lock.js";
import { APPLIED_MIGRATIONS_SQL, type Database } from "./database.js";
import type { MigrationConnection } from "./migrator.js";

/**
 * Postgres's default 128 MB of shared buffers is memory the WebAssembly Postgres allocates and initialises at every
 * start, in this process, for a database of a few MB: 16 MB starts about 0.3 s sooner (CPU) and holds about 120 MB
 * less resident memory (bench:start). Pages beyond it are read from the files again (the OS caches them).
 */
const EMBEDDED_SETTINGS = ["-c", "shared_buffers=16MB"];

/**
 * V8 first compiles WebAssembly with its baseline compiler (Liftoff) and then, in background threads, recompiles
 * every function that runs often with its optimising one. Postgres's start runs thousands of functions often enough,
 * so on two cores those recompilations compete with the start itself. With baseline code only, the compiled gateway
 * reached `/readyz` on an existing embedded database in 1.40 s instead of 1.86 s (medians of 5, interleaved, quiet
 * machine), and PGlite's queries ran about a fifth slower: the right trade for a development and demonstration
 * database of a few MB, where a query takes microseconds. The flag holds for every WebAssembly module the process
 * compiles from here on (PGlite's Postgres, Prisma's query compiler), so it is set only when the embedded database
 * opens: a gateway on a Postgres server (DATABASE_URL) keeps V8's defaults. V8 reads it at each compile, so setting
 * it at run time, before the first compile, takes effect.
 */
function compileWebAssemblyWithBaselineOnly(): void {
  setFlagsFromString("--liftoff-only");
}

/** Postgres running inside this process (PGlite), its files in `dataDir`. One process owns the folder. */
export async function openEmbedded(dataDir: string): Promise<{ database: Database; migrationConnection: MigrationConnection }> {
  const pgDataDir = path.resolve(dataDir, "pgdata");
  await mkdir(pgDataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    compileWebAssemblyWithBaselineOnly();
    pglite = await PGlite.create(pgDataDir, { startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] });
  } catch (error) {
    await unlock();
    throw error;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });

  const migrationConnection: MigrationConnection = {
    async query(sql, params) {
      if (params && params.length > 0) return pglite.query(sql, params);
      // PGlite's extended protocol takes one statement; whole migration files go through exec.
      const results = await pglite.exec(sql);
      return { rows: results.at(-1)?.rows ?? [] };
    },
  };

  const database: Database = {
    kind: "embedded",
    prisma,
    async query<Row>(sql: string, params: readonly unknown[]) {
      return (await pglite.query<Row>(sql, [...params])).rows;
    },
    async execute(sql: string, params: readonly unknown[]) {
      return (await pglite.query(sql, [...params])).affectedRows ?? 0;
    },
    async ping() {
      await pglite.query("SELECT 1");
    },
    async appliedMigrations() {
      const { rows } = await pglite.query<{ migration_name: string }>(APPLIED_MIGRATIONS_SQL);
      return rows.map((r) => r.migration_name);
    },
    async listen(channel, onMessage) {
      const unsubscribe = await pglite.listen(channel, onMessage);
      return unsubscribe;
    },
    async notify(channel, payload) {
      await pglite.query("SELECT pg_notify($1, $2)", [channel, payload]);
    },
    // One process owns the data, and PGlite hands a committed notification to its listeners before the
    // committing statement returns: there is never anything to catch up with.
    async catchUp() {},
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      await unlock();
    },
  };
  return { database, migrationConnection };
}

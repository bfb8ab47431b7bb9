import path from "node:path";
import pg from "pg";
import type { Config } from "../config.js";
import type { Logger } from "../logging.js";
import { PROJECT_ROOT } from "../project-root.js";
import type { Database } from "./database.js";
import { openEmbedded } from "./embedded.js";
import { applyMigrations } from "./migrator.js";
import { connectPostgres } from "./postgres.js";

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, "prisma/migrations");

export interface OpenDatabaseOptions {
  log: (message: string) => void;
  onError?: (error: Error) => void;
}

/** Opens the configured database (Postgres when DATABASE_URL is set, else embedded) and migrates it. */
export async function openDatabase(config: Config, options: OpenDatabaseOptions): Promise<Database> {
  if (!config.DATABASE_URL) {
    const { database, migrationConnection } = await openEmbedded(config.DATA_DIR);
    await applyMigrations(migrationConnection, MIGRATIONS_DIR, options.log);
    return database;
  }
  await migratePostgres(config.DATABASE_URL, options.log);
  return connectPostgres({
    url: config.DATABASE_URL,
    poolSize: config.DATABASE_POOL_SIZE,
    poolWaitMs: config.DATABASE_POOL_WAIT_MS,
    onError: options.onError,
  });
}

/** Opens (and migrates) the configured database, logging through the gateway's logger. */
export function openDatabaseFor(config: Config, logger: Logger): Promise<Database> {
  return openDatabase(config, {
    log: (message) => logger.info(message),
    onError: (error) => logger.warn({ err: error }, "database connection error"),
  });
}

export async function migratePostgres(url: string, log: (message: string) => void = () => {}): Promise<string[]> {
  // A server that does not answer must not hold up start-up or `npm run migrate` for ever.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { applied } = await applyMigrations(client, MIGRATIONS_DIR, log);
    return applied;
  } finally {
    await client.end();
  }
}

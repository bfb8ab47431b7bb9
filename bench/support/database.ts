import { createTestDatabase, ensureTemplateDatabase } from "../../test/support/postgres.js";

/** The database a benchmark runs on: DATABASE_URL when given, else a fresh migrated one it drops afterwards. */
export async function benchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, drop: async () => {} };
  const db = await createTestDatabase(await ensureTemplateDatabase());
  return { url: db.url, drop: db.drop };
}

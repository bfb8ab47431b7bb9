// Prisma config for the offline migration-authoring tool only (prisma 6.19.3, see lib.mjs).
// The schema engine runs as WebAssembly ("js" engine) against an in-memory PGlite: nothing here
// can reach a real database. When MIGRATION_AUTHOR_APPLY names a migrations folder, every
// <folder>/migration.sql is executed in order into that in-memory database first, so `db pull`
// introspects exactly what the existing migrations produce.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";

async function inMemoryDatabase() {
  const db = new PGlite();
  const dir = process.env.MIGRATION_AUTHOR_APPLY;
  if (dir) {
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, "migration.sql")))
      .map((e) => e.name)
      .sort();
    for (const name of names) {
      try {
        await db.exec(readFileSync(path.join(dir, name, "migration.sql"), "utf8"));
      } catch (error) {
        throw new Error(`migration ${name} failed in the in-memory database: ${error.message}`);
      }
    }
  }
  return new PrismaPGlite(db);
}

export default {
  experimental: { adapter: true },
  engine: "js",
  adapter: inMemoryDatabase,
};

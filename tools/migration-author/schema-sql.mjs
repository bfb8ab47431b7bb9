#!/usr/bin/env node
// Prints the SQL Prisma would run to create prisma/schema.prisma in an empty database:
//   prisma migrate diff --from-empty --to-schema-datamodel <schema> --script
// Usage: node tools/migration-author/schema-sql.mjs [path/to/schema.prisma]
// Installs this tool's own dependencies first when they are missing (see ensureDeps).
// test/database/schema-matches-migrations.test.ts applies this SQL to one fresh database and the
// migrations to another and compares the two catalogs.
import { readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_SCHEMA, diffScript, ensureDeps, tempDir, transformSchema, writeTemp } from "./lib.mjs";

const schemaPath = path.resolve(process.argv[2] ?? DEFAULT_SCHEMA);
ensureDeps();
const { dir, cleanup } = tempDir();
try {
  const { schema } = transformSchema(readFileSync(schemaPath, "utf8"));
  process.stdout.write(diffScript(["--from-empty"], writeTemp(dir, "schema.prisma", schema)));
} catch (error) {
  process.stderr.write(`schema-sql: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  cleanup();
}

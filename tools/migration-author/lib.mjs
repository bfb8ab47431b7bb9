// Shared helpers of the offline migration-authoring tool. This file imports nothing from this
// folder's node_modules, so it can install them first (ensureDeps).
//
// How it works: prisma 6.19.3's CLI carries a WebAssembly schema engine. With `engine: "js"` in
// prisma.config.mjs and an in-memory PGlite behind pglite-prisma-adapter, `migrate diff` between two
// datamodels and `db pull` run entirely in this process: no engine download, and no real database
// is ever contacted (DATABASE_URL is set to an unresolvable dummy so nothing could connect anyway).
// Never use `migrate deploy/status/dev`, `db push` or `diff --from-migrations` with this tool.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const TOOL_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = path.resolve(TOOL_DIR, "../..");
export const DEFAULT_SCHEMA = path.join(REPO_DIR, "prisma/schema.prisma");
export const MIGRATIONS_DIR = path.join(REPO_DIR, "prisma/migrations");

const MARKER = path.join(TOOL_DIR, "node_modules/.verdict-migration-author-installed");

/**
 * Installs this folder's own dependencies (`npm ci`, offline from the npm cache when possible)
 * unless they are present and match package-lock.json. Serialised with flock, so parallel callers
 * (several test files, a developer running the tool) never run `npm ci` over each other.
 */
export function ensureDeps() {
  const lockHash = createHash("sha256").update(readFileSync(path.join(TOOL_DIR, "package-lock.json"))).digest("hex");
  const ok = () => existsSync(MARKER) && readFileSync(MARKER, "utf8") === lockHash;
  if (ok()) return;
  const lockFile = path.join(os.tmpdir(), `verdict-migration-author-${createHash("sha256").update(TOOL_DIR).digest("hex").slice(0, 12)}.lock`);
  // Re-checked inside the lock: a caller that waited must not reinstall under a caller now using it.
  const script = `test "$(cat "$1" 2>/dev/null)" = "$2" && exit 0
npm ci --prefix "$3" --prefer-offline --no-audit --no-fund --loglevel=error >&2 && printf %s "$2" > "$1"`;
  const result = spawnSync("flock", [lockFile, "sh", "-c", script, "sh", MARKER, lockHash, TOOL_DIR], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (result.status !== 0 || !ok()) {
    throw new Error(`installing tools/migration-author dependencies failed (npm ci --prefix ${TOOL_DIR})`);
  }
}

/**
 * Turns the Prisma 7 schema into one prisma 6 accepts: generator blocks are dropped (a diff needs
 * none, and prisma 6 does not know all of Prisma 7's generator options; only a `previewFeatures`
 * line survives, in a plain prisma-client-js generator) and the datasource gets
 * `url = env("DATABASE_URL")` (Prisma 7 keeps the URL in prisma.config.ts; prisma 6 requires it).
 * Returns the transformed schema and the transformed datasource block alone (an empty datamodel).
 */
export function transformSchema(source) {
  const out = [];
  let datasource = null;
  let generator = "";
  let block = null; // { kind, lines }
  for (const line of source.split("\n")) {
    if (!block) {
      const open = /^\s*(generator|datasource)\s+\w+\s*\{\s*(\/\/.*)?$/.exec(line);
      if (open) {
        block = { kind: open[1], lines: [line] };
        continue;
      }
      out.push(line);
      continue;
    }
    if (/^\s*\}\s*(\/\/.*)?$/.test(line)) {
      if (block.kind === "datasource") {
        const body = block.lines.filter((l) => !/^\s*(url|directUrl|shadowDatabaseUrl)\s*=/.test(l));
        datasource = [...body, '  url = env("DATABASE_URL")', "}"].join("\n");
        out.push(datasource);
      }
      const preview = block.lines.find((l) => /^\s*previewFeatures\s*=/.test(l));
      if (block.kind === "generator" && preview) {
        // Preview features can change what the datamodel may say (views, extensions…): keep them.
        generator = `generator client {\n  provider = "prisma-client-js"\n${preview}\n}\n`;
        out.push(generator);
      }
      block = null;
      continue;
    }
    block.lines.push(line);
  }
  if (block) throw new Error(`unterminated ${block.kind} block in the Prisma schema`);
  if (!datasource) throw new Error("the Prisma schema has no datasource block");
  return { schema: out.join("\n"), emptySchema: `${generator}${datasource}\n` };
}

/** A temporary folder, removed by the returned cleanup function. */
export function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "migration-author-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeTemp(dir, name, text) {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * Runs prisma 6's CLI with the in-memory-PGlite config. `applyMigrationsFrom` (a migrations folder)
 * makes the config replay those migration.sql files into the in-memory database first.
 * Returns { status, stdout, stderr }.
 */
export function runPrisma(args, { applyMigrationsFrom } = {}) {
  const env = {
    ...process.env,
    // Both must name an existing file, or the CLI tries to download engines; neither is executed.
    PRISMA_QUERY_ENGINE_LIBRARY: "/bin/true",
    PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true",
    // Only satisfies `url = env("DATABASE_URL")`: with a driver adapter the URL is not used, and
    // an unresolvable host guarantees no real database is ever touched.
    DATABASE_URL: "postgresql://migration-author.invalid:1/unused",
    CHECKPOINT_DISABLE: "1",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    PRISMA_DISABLE_WARNINGS: "1",
    MIGRATION_AUTHOR_APPLY: applyMigrationsFrom ?? "",
  };
  const cli = path.join(TOOL_DIR, "node_modules/prisma/build/index.js");
  const result = spawnSync(process.execPath, [cli, ...args, "--config", path.join(TOOL_DIR, "prisma.config.mjs")], {
    cwd: TOOL_DIR,
    env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `prisma migrate diff … --script --exit-code`: returns the SQL, or "" when there is no difference. */
export function diffScript(fromArgs, toSchemaFile) {
  const r = runPrisma(["migrate", "diff", ...fromArgs, "--to-schema-datamodel", toSchemaFile, "--script", "--exit-code"]);
  if (r.status === 0) return "";
  if (r.status === 2) return r.stdout;
  throw new Error(`prisma migrate diff failed (exit ${r.status}):\n${r.stderr}\n${r.stdout}`);
}

/** Migration folder names (those holding a migration.sql), sorted as Prisma and our migrator apply them. */
export function migrationNames(migrationsDir) {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(migrationsDir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort();
}

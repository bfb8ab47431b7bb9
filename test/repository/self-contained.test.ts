/**
 * A clone of the project has nothing beside it, so nothing in it may read or point at files outside the
 * repository. Checks every relative file path written as `new URL("…", import.meta.url)` or
 * `path.resolve/join(import.meta.dirname, "…")` in code, tests, benchmarks, tools and CI, and that no file
 * cites the external language specification instead of the project's own guide (docs/language.md).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCE = /\.(ts|mts|mjs|js|md|peggy|sh)$/;

function repositoryFiles(): string[] {
  const files: string[] = ["README.md", ".ci/run", "vitest.config.ts", "prisma.config.ts", "codegen.yml"];
  for (const dir of ["src", "test", "bench", "tools", "docs", "operations", "prisma"]) {
    for (const file of readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })) {
      if (!file.split(path.sep).includes("node_modules") && SOURCE.test(file)) files.push(path.join(dir, file));
    }
  }
  return files;
}

const files = repositoryFiles();

it("resolves every relative file path written in the repository to a place inside it", () => {
  const written = [
    /new URL\(\s*["'`](\.{1,2}\/[^"'`]*)["'`]\s*,\s*import\.meta\.url\s*\)/g,
    /path\.(?:resolve|join)\(\s*import\.meta\.dirname\s*,\s*["'`]([^"'`]*)["'`]/g,
  ];
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    for (const pattern of written) {
      for (const m of text.matchAll(pattern)) {
        const target = path.resolve(ROOT, path.dirname(file), m[1] ?? "");
        expect(target === ROOT || target.startsWith(ROOT + path.sep), `${file}: "${m[1] ?? ""}" leaves the repository`).toBe(true);
        checked++;
      }
    }
  }
  // The conformance test, the schema file test and the migrations directory at least.
  expect(checked).toBeGreaterThan(3);
});

it("cites the project's language guide, never the external specification", () => {
  const external = new RegExp(["dsl", "md"].join("\\.") + "|shared/(spec|conformance|seeds|notes)");
  const offenders = files.filter((f) => external.test(readFileSync(path.join(ROOT, f), "utf8")));
  expect(offenders).toEqual([]);
});

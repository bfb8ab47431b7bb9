import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";

/**
 * `npm run lint:layers` passes on src/ (npm test runs it); this shows each rule of .dependency-cruiser.cjs
 * fails on the import it forbids, on a throw-away tree laid out like src/.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");
let tree: string;

afterAll(async () => {
  if (tree) await rm(tree, { recursive: true, force: true });
});

/** file → what it imports (specifiers as the code writes them). */
const FILES: Record<string, string[]> = {
  "src/config.ts": [],
  "src/gateway.ts": ["./server/app.js"],
  // a file cycle (no-circular)
  "src/http/a.ts": ["./b.js"],
  "src/http/b.ts": ["./a.js"],
  // a folder cycle without a file cycle (no-folder-cycle)
  "src/identity/one.ts": ["../database/one.js"],
  "src/identity/two.ts": [],
  "src/database/one.ts": [],
  "src/database/two.ts": ["../identity/two.js"],
  // engine-is-pure
  "src/engine/evaluate.ts": ["../config.js", "node:fs"],
  // modules-not-transports and domain-logic-not-graphql (the resolver may use the kit)
  "src/modules/things/thing.service.ts": ["../../rest/routes.js", "../../graphql/context.js"],
  "src/modules/things/thing.resolver.ts": ["../../graphql/context.js", "./thing.service.js"],
  "src/graphql/context.ts": [],
  // foundations-not-upward
  "src/errors/codes.ts": ["../modules/things/thing.service.js"],
  // http-is-plumbing, rest-beside-graphql
  "src/http/metrics.ts": ["../rest/routes.js"],
  "src/rest/routes.ts": ["../graphql/context.js"],
  // cli-not-transports
  "src/cli/main.ts": ["../http/metrics.js"],
  // transports-only-from-wiring (gateway.ts, at the root, may)
  "src/demo/seed.ts": ["../server/app.js"],
  "src/server/app.ts": ["../http/metrics.js"],
  // otel-loaded-lazily: only a dynamic import may load the OpenTelemetry implementation
  "src/main.ts": ["./telemetry/otel.js"],
  "src/telemetry/otel.ts": [],
};

it("every layer rule fails on the import it forbids, and lets the allowed ones through", async () => {
  tree = await mkdtemp(path.join(tmpdir(), "verdict-layers-"));
  for (const [file, imports] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(tree, file)), { recursive: true });
    await writeFile(path.join(tree, file), imports.map((specifier) => `import "${specifier}";\n`).join("") || "export {};\n");
  }
  await writeFile(
    path.join(tree, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2023" }, include: ["src"] }),
  );

  const depcruise = path.join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");
  const run = promisify(execFile)(process.execPath, [depcruise, "src", "--config", path.join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "json"], {
    cwd: tree,
    maxBuffer: 16 * 2 ** 20,
  });
  // Violations make the command fail; its report is on stdout either way.
  const { stdout } = await run.catch((error: { stdout: string }) => error);
  const report = JSON.parse(stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  const found = new Set(report.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));

  for (const expected of [
    "engine-is-pure: src/engine/evaluate.ts → src/config.ts",
    "modules-not-transports: src/modules/things/thing.service.ts → src/rest/routes.ts",
    "domain-logic-not-graphql: src/modules/things/thing.service.ts → src/graphql/context.ts",
    "foundations-not-upward: src/errors/codes.ts → src/modules/things/thing.service.ts",
    "http-is-plumbing: src/http/metrics.ts → src/rest/routes.ts",
    "rest-beside-graphql: src/rest/routes.ts → src/graphql/context.ts",
    "cli-not-transports: src/cli/main.ts → src/http/metrics.ts",
    "transports-only-from-wiring: src/demo/seed.ts → src/server/app.ts",
    "otel-loaded-lazily: src/main.ts → src/telemetry/otel.ts",
  ]) {
    expect(found).toContain(expected);
  }
  const rules = new Set(report.summary.violations.map((v) => v.rule.name));
  expect(rules).toContain("no-circular");
  expect(rules).toContain("no-folder-cycle");
  const cycles = report.summary.violations.filter((v) => v.rule.name === "no-circular").map((v) => v.from);
  expect(cycles.every((file) => file.startsWith("src/http/"))).toBe(true);
  const folderCycles = report.summary.violations.filter((v) => v.rule.name === "no-folder-cycle").map((v) => `${v.from} ↔ ${v.to}`);
  expect(folderCycles.some((c) => c.includes("src/identity") && c.includes("src/database"))).toBe(true);

  // What is allowed stays quiet: a resolver using the GraphQL kit, the engine using node builtins, the wiring
  // starting the server, the server using the plumbing.
  for (const allowed of ["src/modules/things/thing.resolver.ts", "src/gateway.ts", "src/server/app.ts"]) {
    expect([...found].filter((line) => line.split(": ")[1]!.startsWith(`${allowed} →`))).toEqual([]);
  }
  expect([...found].some((line) => line.includes("node:fs") || line.endsWith("→ fs"))).toBe(false);
}, 120_000);

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { graphql } from "../support/gateway.js";
import { subscribe, subscriptionClient } from "../support/subscriptions.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
let dataDir: string;
let compiledDataDir: string;
const running = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of [dataDir, compiledDataDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Runs the README's start command (`npm start` = tsx src/main.ts) with no DATABASE_URL: embedded mode.
 * `compiled` runs `npm run start:prod` (node dist/main.js) instead.
 */
async function startEmbedded(folder = dataDir, compiled = false, extraEnv: NodeJS.ProcessEnv = {}): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: folder, PORT: "0", NODE_ENV: "development", LOG_LEVEL: "info", ...extraEnv };
  delete env.DATABASE_URL;
  delete env.AUTH_JWT_SECRET;
  const args = compiled ? ["dist/main.js"] : ["--import", "tsx", "src/main.ts"];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${output}`)), 150_000);
    const check = (): void => {
      const match = /"msg":"gateway started"/.test(output) && /GraphiQL: (http:\/\/[^\s]+)\/graphql/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => reject(new Error(`gateway exited with ${code}:\n${output}`)));
  });
  return { child, url, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const code = await exited;
  if (code !== 0) console.error(`exit ${code} signal ${child.signalCode}`);
  running.delete(child);
  return code;
}

const tokenOf = (output: string, role: string): string => {
  const match = new RegExp(`${role}\\s+\\S+\\s+\\{"Authorization": "Bearer ([^"]+)"\\}`).exec(output);
  if (!match) throw new Error(`no ${role} token printed:\n${output}`);
  return match[1]!;
};

it("starts on the embedded database, seeds the demo tenant, and keeps its data across restarts", async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "verdict-embedded-"));

  const first = await startEmbedded();
  for (const role of ["ADMIN", "PUBLISHER", "EDITOR", "VIEWER", "AUDITOR"]) expect(first.output()).toContain(role);
  const key = /Demo API key[^{]*\{"x-api-key": "([^"]+)"\}/.exec(first.output())?.[1];
  expect(key).toMatch(/^vdk_/);

  const version = await graphql(first.url, "{ version { database migration } }");
  expect(version.data.version.database).toMatch(/^PostgreSQL/);
  const asAdmin = await graphql(
    first.url,
    "{ viewer { tenant { id slug } user { roles } } }",
    {},
    {
      authorization: `Bearer ${tokenOf(first.output(), "ADMIN")}`,
    },
  );
  expect(asAdmin.data.viewer).toMatchObject({ tenant: { slug: "demo" }, user: { roles: ["ADMIN"] } });
  const tenantId = asAdmin.data.viewer.tenant.id;

  // The first start brings demo content, so GraphiQL's first queries answer with something.
  const demo = await graphql(
    first.url,
    "{ bases { edges { node { name latestVersion { versionNumber } } } } groups { totalCount } }",
    {},
    {
      authorization: `Bearer ${tokenOf(first.output(), "VIEWER")}`,
    },
  );
  expect(demo.data.bases.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(
    expect.arrayContaining(["Driving licence", "Adult applicant", "Credit score", "Loan application"]),
  );
  expect(demo.data.groups.totalCount).toBe(2);
  // Subscriptions work on the embedded database too: publishing the demo's pending draft reaches a subscriber.
  const pending = await graphql(
    first.url,
    `{ bases(filter: { nameContains: "Credit score" }) { edges { node { id draft { id revision } } } } }`,
    {},
    {
      authorization: `Bearer ${tokenOf(first.output(), "PUBLISHER")}`,
    },
  );
  const credit = pending.data.bases.edges[0].node;
  const watcher = subscriptionClient(first.url, { Authorization: `Bearer ${tokenOf(first.output(), "VIEWER")}` });
  const changes = subscribe(watcher.client, `subscription ($id: ID!) { baseChanged(baseId: $id) { change version } }`, { id: credit.id });
  // The subscription is set up when an edit arrives; edit until one does (the first may precede it).
  let revision: number = credit.draft.revision;
  const edits = (async () => {
    for (;;) {
      const edited = await graphql(
        first.url,
        `mutation ($id: ID!, $r: Int!) { updateDraft(input: { draftId: $id, expectedRevision: $r }) { revision } }`,
        { id: credit.draft.id, r: revision },
        {
          authorization: `Bearer ${tokenOf(first.output(), "PUBLISHER")}`,
        },
      );
      expect(edited.errors).toBeUndefined();
      revision = edited.data.updateDraft.revision;
      if (changes.received > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  expect((await changes.next()).data.baseChanged.change).toBe("EDITED");
  await edits;
  await graphql(
    first.url,
    `mutation ($id: ID!) { publishDraft(input: { draftId: $id, description: "650" }) { id } }`,
    { id: credit.draft.id },
    {
      authorization: `Bearer ${tokenOf(first.output(), "PUBLISHER")}`,
    },
  );
  let change = (await changes.next()).data.baseChanged;
  while (change.change === "EDITED") change = (await changes.next()).data.baseChanged;
  expect(change).toEqual({ change: "PUBLISHED", version: 2 });
  watcher.dispose();

  // A link per demo user opens GraphiQL with that user's header filled in.
  expect(first.output()).toMatch(new RegExp(`ADMIN\\s+${first.url.replace(/[.]/g, "\\.")}/graphql#authorization=Bearer%20${tokenOf(first.output(), "ADMIN")}`));
  const asKey = await graphql(first.url, "{ viewer { credential scopes } }", {}, { "x-api-key": key! });
  expect(asKey.data.viewer).toEqual({ credential: "API_KEY", scopes: ["VIEW"] });

  // A stored policy run through the REST shim is audited on the embedded database too (the first append
  // creates the tenant's chain head, the next ones append after it).
  const created = await graphql(
    first.url,
    `mutation { createPolicy(input: { name: "Adults", content: "A **Person** gets approved if __age__ of **Person** is at least 18." }) { base { id } } }`,
    {},
    {
      authorization: `Bearer ${tokenOf(first.output(), "PUBLISHER")}`,
    },
  );
  const baseId = created.data.createPolicy.base.id;
  for (const age of [20, 10, 30]) {
    const run = await fetch(`${first.url}/run/policy/${baseId}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key! },
      body: JSON.stringify({ data: { person: { age } } }),
    });
    expect(run.status).toBe(200);
    expect(((await run.json()) as { result: boolean }).result).toBe(age >= 18);
  }
  const audit = await graphql(
    first.url,
    `query ($baseId: ID!) { auditEvents(filter: { actions: [EXECUTED], baseId: $baseId }) { totalCount } verifyAuditChain { valid } }`,
    { baseId },
    {
      authorization: `Bearer ${tokenOf(first.output(), "AUDITOR")}`,
    },
  );
  expect(audit.data).toEqual({ auditEvents: { totalCount: 3 }, verifyAuditChain: { valid: true } });
  expect(await stop(first.child)).toBe(0);

  const second = await startEmbedded();
  expect(second.output()).toContain("printed on the first start only");
  // Restarting does not add the demo content again.
  const afterRestart = await graphql(second.url, "{ bases { totalCount } }", {}, { "x-api-key": key! });
  expect(afterRestart.data.bases.totalCount).toBe(demo.data.bases.edges.length);
  const again = await graphql(second.url, "{ viewer { tenant { id } } }", {}, { "x-api-key": key! });
  expect(again.data.viewer.tenant.id).toBe(tenantId);
  // A token from the first run still works: the signing secret is kept with the data.
  const oldToken = await graphql(
    second.url,
    "{ viewer { user { roles } } }",
    {},
    {
      authorization: `Bearer ${tokenOf(first.output(), "VIEWER")}`,
    },
  );
  expect(oldToken.data.viewer.user.roles).toEqual(["VIEWER"]);
  expect(await stop(second.child)).toBe(0);
}, 400_000);

it("the production build (npm run build, then node dist/main.js) starts, migrates, seeds and serves", async () => {
  // tsc, then esbuild's bundle of its output (scripts/bundle.mjs): decorator metadata, the generated Prisma client and
  // the parser are compiled JavaScript here, in a few files directly in dist/.
  await promisify(execFile)("npm", ["run", "build"], { cwd: ROOT });
  compiledDataDir = await mkdtemp(path.join(tmpdir(), "verdict-compiled-"));
  // gRPC too: its modules are a chunk of their own, loaded on demand, and read proto/ from the project root. A
  // generous evaluation deadline: the pool's entry file is under test here, not its speed on a busy machine.
  const started = await startEmbedded(compiledDataDir, true, { GRPC_PORT: "0", EVALUATION_DEADLINE_MS: "60000" });
  expect(started.output()).toMatch(/"grpc":"127\.0\.0\.1:\d+"/);

  expect((await fetch(`${started.url}/readyz`)).status).toBe(200);
  // Files read at run time (package.json, prisma/migrations) resolve from dist/ as from src/.
  const version = await graphql(started.url, "{ version { gateway migration } }");
  expect(version.data.version).toEqual({ gateway: expect.stringMatching(/^\d+\.\d+\.\d+/), migration: expect.any(String) });
  const asEditor = await graphql(
    started.url,
    `mutation { createPolicy(input: { name: "Adults", content: "A **Person** gets approved if __age__ of **Person** is at least 18." }) { base { id } } }`,
    {},
    {
      authorization: `Bearer ${tokenOf(started.output(), "EDITOR")}`,
    },
  );
  const baseId = asEditor.data.createPolicy.base.id;
  const key = /Demo API key[^{]*\{"x-api-key": "([^"]+)"\}/.exec(started.output())![1]!;
  const run = await fetch(`${started.url}/run/policy/${baseId}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key },
    body: JSON.stringify({ data: { person: { age: 20 } } }),
  });
  expect(((await run.json()) as { result: boolean }).result).toBe(true);
  // An evaluation beyond the in-line slice runs in the worker pool, whose entry file the build provides.
  const pooled = await fetch(`${started.url}/run`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key },
    body: JSON.stringify({
      rule: "A **o** is ok if any __items__ of **o** is equal to 14999.",
      data: { o: { items: Array.from({ length: 15_000 }, (_, i) => i) } },
    }),
  });
  expect(pooled.status).toBe(200);
  expect(((await pooled.json()) as { result: boolean }).result).toBe(true);
  const page = await fetch(`${started.url}/graphql`, { headers: { accept: "text/html" } });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("GraphiQL");
  expect(await stop(started.child)).toBe(0);
}, 400_000);

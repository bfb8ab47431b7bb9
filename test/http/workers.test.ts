import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createApiKey, createTenant } from "../support/fixtures.js";
import { graphql, startTestGateway, TEST_JWT_SECRET, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

// WORKERS=N (issue #14, point 8): N gateway processes behind one port, through the README's start command.
const ROOT = path.resolve(import.meta.dirname, "../..");
const running = new Set<ChildProcess>();
let db: TestDatabase;
/** In this process, on the same database: sets up a tenant and checks the audit chain the workers wrote. */
let setup: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(inject("templateDatabase"));
  setup = await startTestGateway({}, db);
});
afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await setup?.stop();
});

const freePort = async (): Promise<number> => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};

function start(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of Object.keys(env)) if (env[name] === undefined) delete merged[name];
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: ROOT, env: merged, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => output, exited };
}

/** GET on a connection of its own, so that the cluster may hand each request to another worker. */
const getFresh = (url: string, post?: { body: string; headers: Record<string, string> }): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const request = http.request(url, { agent: false, method: post ? "POST" : "GET", headers: post?.headers }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    request.on("error", reject);
    request.end(post?.body);
  });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("WORKERS=2 on Postgres serves one port from two processes and stops them all on SIGTERM", { timeout: 180_000 }, async () => {
  const port = await freePort();
  const gateway = start({
    WORKERS: "2",
    PORT: String(port),
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    SEED_DEMO: "never",
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workers did not start:\n${gateway.output()}`)), 150_000);
    const check = (): void => {
      if (/"msg":"all workers started"/.test(gateway.output())) {
        clearTimeout(timer);
        resolve();
      }
    };
    gateway.child.stdout!.on("data", check);
    void gateway.exited.then((code) => reject(new Error(`gateway exited with ${code}:\n${gateway.output()}`)));
  });

  // Each scrape names the process that answered it; fresh connections reach both workers.
  const pids = new Map<string, string>();
  for (let i = 0; i < 40 && pids.size < 2; i++) {
    const { status, body } = await getFresh(`http://127.0.0.1:${port}/metrics`);
    expect(status).toBe(200);
    const match = /verdict_process_info\{worker="(\d+)",pid="(\d+)"\} 1/.exec(body);
    expect(match).not.toBeNull();
    pids.set(match![1]!, match![2]!);
  }
  expect([...pids.keys()].sort()).toEqual(["1", "2"]);
  for (const pid of pids.values()) expect(Number(pid)).not.toBe(gateway.child.pid);
  // Both workers reach the database.
  for (let i = 0; i < 4; i++) expect((await getFresh(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

  // Runs of one key through both workers at once: the shared state (key cache with catch-up, leased rate
  // limits, the tenant's audit chain appended from two processes) stays whole.
  const tenant = await createTenant(setup.database.prisma, { publisher: ["PUBLISHER"], auditor: ["AUDITOR"] });
  const publisher = { authorization: `Bearer ${await setup.tokenFor(tenant.users.publisher!.subject)}` };
  const created = await graphql(
    setup.url,
    `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`,
    {
      input: { name: "age", content: op.AGE_POLICY },
    },
    publisher,
  );
  await graphql(
    setup.url,
    `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`,
    {
      input: { draftId: created.data.createPolicy.id, description: "v1" },
    },
    publisher,
  );
  const { key } = await createApiKey(setup.database.prisma, tenant.id, ["VIEW"]);
  const run = { body: JSON.stringify({ data: { Person: { age: 30 } } }), headers: { "content-type": "application/json", "x-api-key": key } };
  for (let round = 0; round < 6; round++) {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => getFresh(`http://127.0.0.1:${port}/run/policy/${created.data.createPolicy.base.id}`, run)),
    );
    for (const answer of answers) expect(answer.status, answer.body).toBe(200);
  }
  const auditor = { authorization: `Bearer ${await setup.tokenFor(tenant.users.auditor!.subject)}` };
  const verified = await graphql(setup.url, "{ verifyAuditChain { valid checkedEvents } }", {}, auditor);
  expect(verified.data.verifyAuditChain.valid).toBe(true);
  expect(verified.data.verifyAuditChain.checkedEvents).toBeGreaterThanOrEqual(60);

  gateway.child.kill("SIGTERM");
  expect(await gateway.exited).toBe(0);
  for (const pid of pids.values()) expect(alive(Number(pid))).toBe(false);
  expect(gateway.output()).toContain("shutting down: stopping the workers");
  expect(gateway.output().match(/"msg":"shutting down: draining in-flight requests"/g)).toHaveLength(2);
});

it("WORKERS=2 on the embedded database is refused at start with a clear message", async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), "verdict-workers-"));
  try {
    const gateway = start({ WORKERS: "2", PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info", DATABASE_URL: undefined, AUTH_JWT_SECRET: undefined });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output()).toContain("WORKERS=2 needs a Postgres server (set DATABASE_URL)");
    expect(gateway.output()).not.toContain("gateway started");
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

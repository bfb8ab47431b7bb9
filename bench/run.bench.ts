/**
 * Throughput of the REST execution shim against a bare Node HTTP server. Run with `npm run bench:run`.
 *
 * Starts a gateway in this process (production settings, logging off) on a fresh database, creates and
 * publishes the six-rule driving-test policy of dsl.md §14 through GraphQL and issues a VIEW API key; starts
 * a bare `node:http` server (same process) that parses the same JSON body and echoes it back. Then drives
 * `POST /run/policy/{baseId}` and the echo server with autocannon (a child process, so it does not share the
 * servers' event loop), interleaved, at 10 and 50 connections, and prints both throughputs, their ratio and
 * p99 latency. Every gateway request is a full run: key authentication, rate limiting, resolution, evaluation
 * and a durable `executed` audit event before the response.
 *
 * Targets: ratio ≥ 0.5 and p99 ≤ 15 ms at 50 connections. Absolute figures vary ±30 % on shared machines;
 * the ratio of one run is what counts.
 *
 * Environment: BENCH_DURATION_S (default 8), BENCH_ROUNDS (default 2, median counts), DATABASE_URL (else a
 * throw-away database on the test Postgres, TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres).
 */
import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../src/config.js";
import { startGateway } from "../src/gateway.js";
import { issueApiKey } from "../src/identity/api-key-format.js";
import { signLocalToken } from "../src/identity/tokens.js";
import { createLogger } from "../src/logging.js";
import { RateLimiter } from "../src/rest/rate-limit.js";
import { DRIVING_TEST_POLICY, drivingTestData } from "../test/support/driving-test.js";
import { benchDatabase } from "./support/database.js";
import { drive, type LoadResult } from "./support/load.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_S = 2;
const SECRET = "bench-secret-bench-secret-bench-secret-0123456789";

/** The baseline: what Node itself does with the same request — read the body, parse it, answer with JSON. */
async function startEchoServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(parsed));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/echo`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function gql(url: string, token: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = loadConfig({
    NODE_ENV: "production",
    PORT: "0",
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: SECRET,
    LOG_LEVEL: "silent",
    // Limited (every request is counted) but never reached: the benchmark measures the limiter's cost.
    RATE_LIMIT_PER_MINUTE: "100000000",
  });
  const gateway = await startGateway(config, createLogger("silent"));
  const echo = await startEchoServer();
  try {
    const { prisma } = gateway.database;
    const tenant = await prisma.tenant.create({ data: { slug: `bench-${Date.now()}`, name: "Bench" } });
    const user = await prisma.user.create({ data: { tenantId: tenant.id, subject: `bench|${tenant.id}`, email: "bench@bench.test", name: "Bench", roles: ["PUBLISHER"] } });
    const token = await signLocalToken({ secret: SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }, user.subject);
    const created = await gql(gateway.url, token, `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`, {
      input: { name: "driving test", content: DRIVING_TEST_POLICY },
    });
    await gql(gateway.url, token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: created.createPolicy.id, description: "benchmark" },
    });
    const baseId: string = created.createPolicy.base.id;
    const issued = issueApiKey();
    await prisma.apiKey.create({ data: { tenantId: tenant.id, name: "bench", prefix: issued.prefix, secretHash: issued.secretHash, scopes: ["VIEW"] } });

    const body = JSON.stringify({ data: drivingTestData(new Date()) });
    const runUrl = `${gateway.url}/run/policy/${baseId}`;
    const headers = { "x-api-key": issued.key, "user-agent": "Go-http-client/1.1" };
    const check = await fetch(runUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const checked = (await check.json()) as { result?: boolean; error?: string | null };
    if (check.status !== 200 || checked.result !== true) throw new Error(`unexpected answer ${check.status} ${JSON.stringify(checked).slice(0, 300)}`);

    const auditBefore = gateway.services.executionAudit.stats;
    const rows = [];
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    let gatewayRequests = 0;
    for (const connections of [10, 50]) {
      const runs: { gateway: LoadResult[]; echo: LoadResult[] } = { gateway: [], echo: [] };
      for (let round = 1; round <= ROUNDS; round++) {
        await drive({ url: runUrl, body, headers, connections, seconds: WARMUP_S });
        const g = await drive({ url: runUrl, body, headers, connections, seconds: DURATION_S });
        // BENCH_SKIP_ECHO=1 drives the gateway alone (for profiling it with --cpu-prof).
        const skipEcho = process.env.BENCH_SKIP_ECHO === "1";
        if (!skipEcho) await drive({ url: echo.url, body, headers, connections, seconds: WARMUP_S });
        const e = skipEcho ? g : await drive({ url: echo.url, body, headers, connections, seconds: DURATION_S });
        for (const [name, r] of [["gateway", g], ["echo", e]] as const) {
          if (r.errors || r.non2xx) throw new Error(`${name} at ${connections} connections: ${r.errors} errors, ${r.non2xx} non-2xx`);
        }
        gatewayRequests += g.total;
        process.stderr.write(
          `round ${round}, ${connections} connections: gateway ${g.rps.toFixed(0)} req/s p99 ${g.p99} ms ${g.cpuUs.toFixed(0)} µs CPU/req; ` +
            `echo ${e.rps.toFixed(0)} req/s p99 ${e.p99} ms ${e.cpuUs.toFixed(0)} µs CPU/req\n`,
        );
        runs.gateway.push(g);
        runs.echo.push(e);
      }
      const g = { rps: median(runs.gateway.map((r) => r.rps)), cpuUs: median(runs.gateway.map((r) => r.cpuUs)), p50: median(runs.gateway.map((r) => r.p50)), p99: median(runs.gateway.map((r) => r.p99)) };
      const e = { rps: median(runs.echo.map((r) => r.rps)), cpuUs: median(runs.echo.map((r) => r.cpuUs)), p50: median(runs.echo.map((r) => r.p50)), p99: median(runs.echo.map((r) => r.p99)) };
      rows.push({
        connections,
        "gateway req/s": Math.round(g.rps),
        "gateway p50 ms": g.p50,
        "gateway p99 ms": g.p99,
        "gateway CPU µs/req": Math.round(g.cpuUs),
        "echo req/s": Math.round(e.rps),
        "echo p99 ms": e.p99,
        "echo CPU µs/req": Math.round(e.cpuUs),
        ratio: Number((g.rps / e.rps).toFixed(3)),
      });
    }
    // The rate limiter's own CPU cost per request, in this process, with the benchmark's limit (shares of 100):
    // requests at about 2000/s, in bursts of 20, so that shares are renewed ahead of need as under real load.
    const limiter = new RateLimiter(gateway.database);
    const takes = 20_000;
    // The whole process's CPU over the loop (the gateway is idle meanwhile), lease round trips included.
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < takes; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => limiter.take("bench:limiter", 100_000_000)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const limiterCpu = process.cpuUsage(cpu0);
    const limiterUs = (limiterCpu.user + limiterCpu.system) / takes;
    const audit = gateway.services.executionAudit.stats;
    const events = audit.events - auditBefore.events;
    const transactions = audit.transactions - auditBefore.transactions;
    process.stdout.write(`\nPOST /run/policy/{baseId} (driving-test policy, dsl §14) vs a bare node:http JSON echo; ${DURATION_S} s per run, median of ${ROUNDS}\n`);
    console.table(rows);
    const at50 = rows.find((r) => r.connections === 50)!;
    process.stdout.write(
      `targets at 50 connections: ratio ${at50.ratio} (≥ 0.5: ${at50.ratio >= 0.5 ? "met" : "not met"}), ` +
        `p99 ${at50["gateway p99 ms"]} ms (≤ 15 ms: ${at50["gateway p99 ms"] <= 15 ? "met" : "not met"})\n` +
        `audit: ${events} executed events in ${transactions} transactions (${(events / Math.max(1, transactions)).toFixed(1)} per transaction); ` +
        `gateway requests measured ${gatewayRequests}\n` +
        `rate limiter: ${limiterUs.toFixed(2)} µs CPU per request (${limiter.leases} upserts for ${takes} requests)\n`,
    );
  } finally {
    await echo.close();
    await gateway.close();
    await drop();
  }
}

await main();

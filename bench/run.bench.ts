/**
 * Throughput of the REST execution shim and the gRPC execution service against a bare Node HTTP server. Run
 * with `npm run bench:run`.
 *
 * Starts a gateway in this process (production settings, logging off) on a fresh database, creates and
 * publishes the six-rule driving-test policy (docs/language.md#a-complete-example) through GraphQL and issues a VIEW API key. Then
 * drives, with autocannon (a child process, so it does not share the servers' event loop), interleaved, at 10
 * and 50 connections:
 *   echo     a bare `node:http` server (same process) that parses the same JSON body and echoes it back: the
 *            baseline of the issue's ratio;
 *   floor    a bare `node:http` server that evaluates the same compiled policy and answers the full response wire
 *            body (5 KB of trace, rule lines and data instead of the echo's 0.2 KB), with no authentication,
 *            storage or audit: what any server answering this route must at least do;
 *   gateway  `POST /run/policy/{baseId}`: key authentication, rate limiting, body validation, resolution,
 *            evaluation and a durable, hash-chained `executed` audit event before the response;
 *   gateway dedicated tenant  the same route and policy for a tenant bound (`tenant bind`) to a database of its own on
 *            the same Postgres server, driven right after `gateway` in every round: its key routes the request to the
 *            tenant's own pool, caches, rate-limit windows and audit chain (issue #14 point 10: within 10 % of `gateway`);
 *   gateway audit round trip only  the same with each audit batch's statement replaced by a bare `SELECT 1` (in this
 *            process only): the batching and the wait for Postgres stay, the rows and the commit's flush go. The
 *            ceiling of every statement shape and table layout of the durable path (issue #15), printed against the floor;
 *   gateway without audit  the same with the audit write skipped (shadowed in this process only), to show
 *            what the durable event costs;
 *   gateway recording inputs  the same policy on a base that records its run inputs for replay (issue #18:
 *            within 10 % of `gateway`);
 *   gateway shadow set  the same policy on a base whose draft (the same text) shadows it: every run also evaluates
 *            the draft after answering and counts agreement (issue #18: within 15 % of `gateway`);
 *            these two are not driven in the rounds above but in a comparison of their own after them, at each
 *            connection count: BENCH_PAIRS (default 7) short rounds of BENCH_PAIR_S seconds (default 4), each driving
 *            `gateway` and both rows back to back, in turns forwards and backwards (ABC CBA ABC …) so that a drift of
 *            the machine's load during a round weighs on both sides alike. The verdict is the median of the rounds'
 *            costs (1 − row / gateway), printed with every round's cost and the load average;
 *   gateway gRPC  `policy.v1.PolicyService/RunPolicy` (product.md §7.1) on the same gateway, same policy, key
 *            and data, driven by a grpc-js client in a child process (bench/support/grpc-client.ts) keeping as
 *            many calls in flight as autocannon keeps connections;
 *   WORKERS=1 / WORKERS=2  `POST /run/policy/{baseId}` on the start command (`tsx src/main.ts`) run as a child
 *            process on the same database with one and with two gateway processes (issue #14, point 8); their
 *            CPU is that of the whole process tree, read from /proc.
 *   scaling  at 10 connections: a generated 50-rule policy, flows running 2 and 10 nodes (a chain of policy
 *            nodes), and the driving test with 1 MB of `data` the policy does not read; from these and
 *            `gateway` it prints the gateway's CPU per rule, per flow node and per KB of data (issue #15, point 4).
 * It prints throughputs, ratios to the echo, p50/p99 latency, CPU per request of the server (this process, or
 * the child's process tree) and of the Postgres backends serving the benchmark's database.
 *
 * Targets (issue #15): gateway / floor ≥ 0.7 at 10 connections and ≥ 0.9 at 50, and p99 at 50 connections no more
 * than the floor's + 5 ms. Absolute figures vary ±30 % on shared machines; compare the rows of one run.
 *
 * The paired rounds also drive `floor (paired)` (their median ratio gateway / floor is the target's ratio from
 * alternating rounds, which a drift of the load cannot favour).
 *
 * Environment: BENCH_DURATION_S (default 8), BENCH_ROUNDS (default 2, median counts), BENCH_ONLY (rows by name,
 * comma-separated), BENCH_CONNECTIONS (default "10,50"), BENCH_PAIRS / BENCH_PAIR_S (above), BENCH_RUN_BASELINE (a checkout whose start
 * command joins the paired rounds beside this one's: `WORKERS=1 baseline`, `WORKERS=1 this checkout`), DATABASE_URL (else a throw-away
 * database on the test Postgres, TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres).
 */
import "reflect-metadata";
import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import { startGateway } from "../src/gateway.js";
import { createLogger } from "../src/logging.js";
import { RateLimiter } from "../src/http/rate-limit.js";
import { compilePolicy, evaluatePolicy } from "../src/engine/index.js";
import { DRIVING_TEST_POLICY, drivingTestData } from "../test/support/driving-test.js";
import { AGE_POLICY } from "../test/support/operations.js";
import { setUpDedicatedTenant, type DedicatedTenant } from "./support/dedicated-tenant.js";
import { setUpDrivingTest } from "./support/driving-test-setup.js";
import { BENCH_SECRET, benchConfig } from "./support/config.js";
import { benchDatabase } from "./support/database.js";
import { gql } from "./support/graphql.js";
import { driveGrpc } from "./support/grpc-load.js";
import { drive, type LoadResult } from "./support/load.js";
import { cpuBetween, PostgresCpu, snapshot } from "./support/cpu.js";
import { spawnGateway, type SpawnedGateway } from "./support/spawn-gateway.js";
import { fiftyRules } from "./support/fifty-rules.js";
import { median } from "./support/median.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_S = 2;
/** Rounds of the paired comparison of recording and shadow with the plain gateway, and their length (s). */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7);
const PAIR_S = Number(process.env.BENCH_PAIR_S ?? 4);
/** BENCH_CONNECTIONS=10 drives one connection count only (for a CPU profile of one of them). */
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "10,50").split(",").map(Number);
const loadAverage = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(" / ");

/** A bare server that reads the body, parses it and answers `answer(parsed)` as JSON. */
async function startBareServer(answer: (parsed: { data?: unknown }) => unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(answer(parsed)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface Target {
  name: string;
  /** Runs the load for `seconds` at `connections` (connections or calls in flight). */
  drive: (connections: number, seconds: number) => Promise<LoadResult>;
  /** Driven only at these connection counts (default: all). */
  connections?: number[];
  /** The processes serving it, when not this one (CPU read from /proc). */
  pids?: () => number[];
  /** Set around this target's runs (the audit shadow). */
  before?: () => void;
  after?: () => void;
}

/** A flow that runs `nodes` nodes: the start and `nodes - 2` more policy nodes in a chain, all on `policyId`, then a return. */
function chainFlow(policyId: string, nodes: number): string {
  let branch = "- id: done\n  type: return\n  returnValue: true";
  for (let i = nodes - 2; i >= 1; i--) {
    const type = i === 1 ? "start" : "policy";
    const onTrue = branch.replaceAll("\n", "\n    ");
    branch = `- id: node-${i}\n  type: ${type}\n  policyId: ${policyId}\n  onTrue:\n    ${onTrue}\n  onFalse:\n    - id: no-${i}\n      type: return\n      returnValue: false`;
  }
  return `flow:\n  start:\n    ${branch.replaceAll("\n", "\n    ")}\n`;
}

/** Records the policy does not read, about `bytes` long as JSON: what a caller sending its whole case file adds. */
function padding(bytes: number): { id: number; note: string; amount: number }[] {
  const row = (id: number) => ({ id, note: `entry ${id}: the applicant's earlier correspondence, kept with the case`, amount: id * 1.5 });
  const per = JSON.stringify(row(100_000)).length + 1;
  return Array.from({ length: Math.floor(bytes / per) }, (_, i) => row(i));
}

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const postgres = await PostgresCpu.open(databaseUrl);
  const spawned: SpawnedGateway[] = [];
  let dedicated: DedicatedTenant | undefined;
  const config = { ...benchConfig(databaseUrl), GRPC_PORT: 0 };
  const gateway = await startGateway(config, createLogger("silent"));
  const compiled = compilePolicy(DRIVING_TEST_POLICY);
  const echo = await startBareServer((parsed) => parsed);
  const floor = await startBareServer((parsed) => {
    const started = process.hrtime.bigint();
    const response = evaluatePolicy(compiled, parsed.data, { now: new Date() });
    const engine = String(process.hrtime.bigint() - started);
    return { ...response, execution: { orchestrator: { go: "0", database: "0", total: "0" }, engine, total: engine } };
  });
  try {
    const { prisma } = gateway.database;
    const tenant = await setUpDrivingTest(gateway, config);
    const { baseId } = tenant;
    const issued = { key: tenant.key };

    const body = JSON.stringify({ data: drivingTestData(new Date()) });
    const runUrl = `${gateway.url}/run/policy/${baseId}`;
    const headers = { "x-api-key": issued.key, "user-agent": "Go-http-client/1.1" };
    const check = await fetch(runUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const checked = (await check.json()) as { result?: boolean; error?: string | null };
    if (check.status !== 200 || checked.result !== true) throw new Error(`unexpected answer ${check.status} ${JSON.stringify(checked).slice(0, 300)}`);

    // The execution service holds the batcher itself; an own `record` property shadows the batcher's method.
    const batcher = gateway.services.executionAudit;
    const skipAudit = () => Object.defineProperty(batcher, "record", { configurable: true, value: async () => {} });
    const restoreAudit = () => delete (batcher as { record?: unknown }).record;
    // Likewise an own `append` (the batcher's private step that writes one batch) for the round-trip-only row.
    const batchWriter = batcher as unknown as { append?: unknown };
    if (typeof batchWriter.append !== "function") throw new Error("ExecutionAuditBatcher has no `append` step: update the round-trip row");
    const roundTripOnly = () => Object.defineProperty(batcher, "append", { configurable: true, value: () => gateway.database.execute("SELECT 1", []) });
    const restoreAppend = () => delete batchWriter.append;
    // BENCH_ONLY=gateway drives the gateway alone (for profiling it with --cpu-prof); a comma-separated list drives those.
    const overHttp =
      (url: string, sent = body, sentHeaders: Record<string, string> = headers) =>
      (connections: number, seconds: number) =>
        drive({ url, body: sent, headers: sentHeaders, connections, seconds });
    // The same policy for a tenant on a database of its own (issue #14 point 10: within 10 % of "gateway").
    dedicated = await setUpDedicatedTenant(gateway.url, config);
    postgres.watch(dedicated.databaseUrl); // its Postgres CPU is on its own database's backends
    const dedicatedUrl = `${gateway.url}/run/policy/${dedicated.baseId}`;
    const dedicatedHeaders = { ...headers, "x-api-key": dedicated.key };
    const dedicatedCheck = await fetch(dedicatedUrl, { method: "POST", headers: { "content-type": "application/json", ...dedicatedHeaders }, body });
    const dedicatedText = await dedicatedCheck.text();
    if (dedicatedCheck.status !== 200 || !dedicatedText.startsWith('{"result":true'))
      throw new Error(`the dedicated tenant's run answered ${dedicatedCheck.status} ${dedicatedText.slice(0, 300)}`);
    const grpcRequest = { baseId, data: JSON.parse(body).data as Record<string, unknown> };
    const overGrpc = (connections: number, seconds: number) =>
      driveGrpc({ address: gateway.grpcAddress!, key: issued.key, request: grpcRequest, connections, seconds });
    const grpcCheck = await overGrpc(1, 0.2);
    if (grpcCheck.ok === 0 || grpcCheck.errors || grpcCheck.result !== true) throw new Error(`the gRPC check failed: ${JSON.stringify(grpcCheck)}`);
    // The same policy on a second base that records its inputs (issue #18: within 10 % of "gateway").
    const recordingBaseId = await tenant.publish("driving test, recorded", DRIVING_TEST_POLICY);
    await prisma.baseRecording.create({
      data: {
        baseId: recordingBaseId,
        tenantId: tenant.tenantId,
        enabled: true,
        retentionDays: 7,
        maxInputs: 10_000,
        redactPaths: ["drivingTest.person.dateOfBirth"],
      },
    });
    // And on a third base whose draft, a copy of the published text, shadows it (issue #18: within 15 % of "gateway").
    const shadowDraft = await gql(gateway.url, tenant.token, `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`, {
      input: { name: "driving test, shadowed", content: DRIVING_TEST_POLICY },
    });
    const shadowVersion = await gql(gateway.url, tenant.token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: shadowDraft.createPolicy.id, description: "benchmark" },
    });
    const shadowBaseId: string = shadowDraft.createPolicy.base.id;
    const candidate = await gql(gateway.url, tenant.token, `mutation($id: ID!) { createDraftFromVersion(versionId: $id) { id } }`, {
      id: shadowVersion.publishDraft.id,
    });
    await gql(gateway.url, tenant.token, `mutation($input: SetShadowInput!) { setShadow(input: $input) { recordId } }`, {
      input: { baseId: shadowBaseId, recordId: candidate.createDraftFromVersion.id },
    });
    // The start command with one and two gateway processes, on this database (issue #14, point 8). Started
    // once, before the rounds; each idles while the others are measured.
    const clustered: Target[] = [];
    if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY.includes("WORKERS")) {
      for (const workers of [1, 2]) {
        const child = await spawnGateway({ databaseUrl, secret: BENCH_SECRET, workers });
        spawned.push(child);
        clustered.push({ name: `WORKERS=${workers}`, drive: overHttp(`${child.url}/run/policy/${baseId}`), pids: child.pids });
      }
    }
    // Cost as work grows (issue #15, point 4), at 10 connections: a 50-rule policy against the six-rule one, a
    // flow of 10 nodes run against one of 2, and 1 MB of `data` against the driving test's 0.2 KB.
    const fifty = fiftyRules();
    const fiftyBaseId = await tenant.publish("fifty rules", fifty.text);
    const ageBaseId = await tenant.publish("adult", AGE_POLICY);
    const shortFlowBaseId = await tenant.publish("two nodes", chainFlow(ageBaseId, 2), "FLOW");
    const longFlowBaseId = await tenant.publish("ten nodes", chainFlow(ageBaseId, 10), "FLOW");
    const personBody = JSON.stringify({ data: { Person: { age: 30 } } });
    const largeBody = JSON.stringify({ data: { ...drivingTestData(new Date()), history: padding(1_000_000) } });
    const scalingRuns = [
      { name: "gateway 50-rule policy", url: `${gateway.url}/run/policy/${fiftyBaseId}`, body: JSON.stringify({ data: fifty.data }) },
      { name: "gateway 2-node flow", url: `${gateway.url}/run/flow/${shortFlowBaseId}`, body: personBody },
      { name: "gateway 10-node flow", url: `${gateway.url}/run/flow/${longFlowBaseId}`, body: personBody },
      { name: "gateway 1 MB data", url: runUrl, body: largeBody },
    ];
    for (const { name, url, body: sent } of scalingRuns) {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: sent });
      const text = await response.text();
      if (response.status !== 200 || !text.startsWith('{"result":true'))
        throw new Error(`${name}: ${response.status} ${text.slice(0, 200)} … ${text.slice(-400)}`);
    }
    const scaling: Target[] = scalingRuns.map(({ name, url, body: sent }) => ({ name, drive: overHttp(url, sent), connections: [10] }));
    const targets: Target[] = [
      { name: "echo", drive: overHttp(echo.url) },
      { name: "floor", drive: overHttp(floor.url) },
      { name: "gateway", drive: overHttp(runUrl) },
      { name: "gateway dedicated tenant", drive: overHttp(dedicatedUrl, body, dedicatedHeaders) },
      { name: "gateway audit round trip only", drive: overHttp(runUrl), before: roundTripOnly, after: restoreAppend },
      { name: "gateway without audit", drive: overHttp(runUrl), before: skipAudit, after: restoreAudit },
      { name: "gateway gRPC", drive: overGrpc },
      ...clustered,
      ...scaling,
    ].filter((t) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(",").includes(t.name));
    // Compared with `gateway` in rounds of their own (see the header), each with its target cost.
    // BENCH_RUN_BASELINE=<checkout>: the start command of this checkout and of another one (e.g. main before a
    // change, in a second worktree), each one process on this database, in the paired rounds: before and after
    // from the same rounds.
    const baselineRows: PairedTarget[] = [];
    if (process.env.BENCH_RUN_BASELINE) {
      for (const [name, root] of [
        ["WORKERS=1 this checkout", undefined],
        ["WORKERS=1 baseline", process.env.BENCH_RUN_BASELINE],
      ] as const) {
        const child = await spawnGateway({ databaseUrl, secret: BENCH_SECRET, workers: 1, root });
        spawned.push(child);
        baselineRows.push({ name, drive: overHttp(`${child.url}/run/policy/${baseId}`) });
      }
    }
    // Rows without a limit print the ratio "gateway" / row per round instead: with "floor (paired)", issue #15's
    // ratio from rounds that alternate, so that the machine's load weighs on both alike.
    const paired: PairedTarget[] = [
      { name: "gateway recording inputs", limit: 0.1, drive: overHttp(`${gateway.url}/run/policy/${recordingBaseId}`) },
      { name: "gateway shadow set", limit: 0.15, drive: overHttp(`${gateway.url}/run/policy/${shadowBaseId}`) },
      { name: "floor (paired)", drive: overHttp(floor.url) },
      ...baselineRows,
    ].filter((t) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(",").includes(t.name));
    process.stdout.write(`load average before the rounds (1 / 5 / 15 min): ${loadAverage()}\n`);

    const auditBefore = batcher.stats;
    const rows: {
      connections: number;
      server: string;
      "req/s": number;
      "ratio to echo": number;
      "p50 ms": number;
      "p99 ms": number;
      "CPU µs/req": number;
      "Postgres µs/req": number;
    }[] = [];
    let gatewayRequests = 0;
    for (const connections of CONNECTIONS) {
      const results = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const target of targets) {
          if (target.connections && !target.connections.includes(connections)) continue;
          target.before?.();
          try {
            await target.drive(connections, WARMUP_S);
            const pids = target.pids?.();
            const [server0, postgres0] = [pids && snapshot(pids), await postgres.snapshot()];
            const audit0 = batcher.stats;
            const r = await target.drive(connections, DURATION_S);
            const audit1 = batcher.stats;
            const [server1, postgres1] = [pids && snapshot(pids), await postgres.snapshot()];
            if (server0 && server1) r.cpuUs = cpuBetween(server0, server1) / Math.max(1, r.total);
            r.postgresCpuUs = cpuBetween(postgres0, postgres1) / Math.max(1, r.total);
            if (r.errors || r.non2xx) throw new Error(`${target.name} at ${connections} connections: ${r.errors} errors, ${r.non2xx} non-2xx`);
            if (target.name === "gateway") gatewayRequests += r.total;
            results.get(target.name)!.push(r);
            process.stderr.write(
              `round ${round}, ${connections} connections, ${target.name}: ${r.rps.toFixed(0)} req/s p99 ${r.p99} ms ${r.cpuUs.toFixed(0)} µs CPU/req, Postgres ${r.postgresCpuUs.toFixed(0)}` +
                (audit1.transactions > audit0.transactions
                  ? `, audit ${((audit1.events - audit0.events) / (audit1.transactions - audit0.transactions)).toFixed(1)} events per batch`
                  : "") +
                ` (load ${loadAverage()})\n`,
            );
          } finally {
            target.after?.();
          }
        }
      }
      const echo = results.get("echo");
      // Without the echo (BENCH_ONLY) there is nothing to compare with.
      const echoRps = echo ? median(echo.map((r) => r.rps)) : Number.NaN;
      for (const target of targets) {
        const runs = results.get(target.name)!;
        if (runs.length === 0) continue;
        const rps = median(runs.map((r) => r.rps));
        rows.push({
          connections,
          server: target.name,
          "req/s": Math.round(rps),
          "ratio to echo": Number((rps / echoRps).toFixed(3)),
          "p50 ms": median(runs.map((r) => r.p50)),
          "p99 ms": median(runs.map((r) => r.p99)),
          "CPU µs/req": Math.round(median(runs.map((r) => r.cpuUs))),
          "Postgres µs/req": Math.round(median(runs.map((r) => r.postgresCpuUs ?? 0))),
        });
      }
    }
    const pairedReport = paired.length > 0 ? await comparePaired(overHttp(runUrl), paired, postgres) : "";
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
    const audit = batcher.stats;
    const events = audit.events - auditBefore.events;
    const transactions = audit.transactions - auditBefore.transactions;
    const lostRaces = audit.lostRaces - auditBefore.lostRaces;
    process.stdout.write(
      `\nPOST /run/policy/{baseId} (driving-test policy), its gRPC twin RunPolicy, and bare node:http servers; ${DURATION_S} s per run, median of ${ROUNDS}\n`,
    );
    console.table(rows);
    for (const connections of CONNECTIONS) {
      const rest = rows.find((r) => r.connections === connections && r.server === "gateway");
      const rpc = rows.find((r) => r.connections === connections && r.server === "gateway gRPC");
      if (rest && rpc) process.stdout.write(`gRPC / REST at ${connections} in flight: ${(rpc["req/s"] / rest["req/s"]).toFixed(2)}\n`);
      const own = rows.find((r) => r.connections === connections && r.server === "gateway dedicated tenant");
      if (rest && own) {
        const ratio = own["req/s"] / rest["req/s"];
        process.stdout.write(
          `dedicated / shared tenant at ${connections} connections: ${ratio.toFixed(2)} (target ≥ 0.90: ${ratio >= 0.9 ? "met" : "not met"})\n`,
        );
      }
      const one = rows.find((r) => r.connections === connections && r.server === "WORKERS=1");
      const two = rows.find((r) => r.connections === connections && r.server === "WORKERS=2");
      if (one && two) process.stdout.write(`WORKERS=2 / WORKERS=1 at ${connections} connections: ${(two["req/s"] / one["req/s"]).toFixed(2)}\n`);
    }
    process.stdout.write(pairedReport);
    if (paired.length > 0) process.stdout.write(`recording: ${gateway.services.inputRecorder.droppedInputs} inputs dropped (queue full)\n`);
    await gateway.services.shadowRunner.flush();
    const shadowCounts = await prisma.baseShadow.findUnique({ where: { baseId: shadowBaseId } });
    if (shadowCounts) {
      process.stdout.write(
        `shadow: ${shadowCounts.runs} runs compared (${shadowCounts.agreed} agreed, ${shadowCounts.disagreed} disagreed, ${shadowCounts.errors} errors), ${shadowCounts.dropped} dropped\n`,
      );
    }
    for (const [connections, least] of [
      [10, 0.7],
      [50, 0.9],
    ] as const) {
      const at = (server: string) => rows.find((r) => r.connections === connections && r.server === server);
      const [floor, gateway, roundTrip] = [at("floor"), at("gateway"), at("gateway audit round trip only")];
      if (floor && roundTrip) {
        const ceiling = (roundTrip["req/s"] / floor["req/s"]).toFixed(2);
        process.stdout.write(`ceiling at ${connections} connections: gateway with a bare round trip per audit batch / floor = ${ceiling}\n`);
      }
      if (!floor || !gateway) continue;
      const ratio = Number((gateway["req/s"] / floor["req/s"]).toFixed(2));
      const p99 =
        connections === 50
          ? `, p99 ${gateway["p99 ms"]} ms (≤ floor's ${floor["p99 ms"]} + 5: ${gateway["p99 ms"] <= floor["p99 ms"] + 5 ? "met" : "not met"})`
          : "";
      process.stdout.write(`gateway / floor at ${connections} connections: ${ratio} (≥ ${least}: ${ratio >= least ? "met" : "not met"})${p99}\n`);
    }
    // What one more unit of work costs the gateway's process, from the rows at 10 connections.
    const cpuAt10 = (server: string) => rows.find((r) => r.connections === 10 && r.server === server)?.["CPU µs/req"];
    const perUnit = (label: string, more: string, less: string, units: number) => {
      const [high, low] = [cpuAt10(more), cpuAt10(less)];
      if (high !== undefined && low !== undefined) process.stdout.write(`${label}: ${((high - low) / units).toFixed(2)} µs CPU (${more} vs ${less})\n`);
    };
    perUnit("per rule", "gateway 50-rule policy", "gateway", 44);
    perUnit("per flow node", "gateway 10-node flow", "gateway 2-node flow", 8);
    perUnit("per KB of data", "gateway 1 MB data", "gateway", (largeBody.length - body.length) / 1024);
    process.stdout.write(
      `audit: ${events} executed events in ${transactions} transactions (${(events / Math.max(1, transactions)).toFixed(1)} per transaction, ${lostRaces} found the head moved); ` +
        `gateway requests measured ${gatewayRequests}\n` +
        `rate limiter: ${limiterUs.toFixed(2)} µs CPU per request (${limiter.leases} upserts for ${takes} requests)\n`,
    );
  } finally {
    for (const child of spawned) await child.close();
    await postgres.close();
    await echo.close();
    await floor.close();
    await gateway.close();
    await dedicated?.drop();
    await drop();
  }
}

interface PairedTarget {
  name: string;
  /** The most this row may cost against "gateway"; none: the rounds' ratio "gateway" / row is printed instead. */
  limit?: number;
  drive: (connections: number, seconds: number) => Promise<LoadResult>;
}

/**
 * Drives `gateway` and each paired row in PAIRS short rounds per connection count, forwards and backwards in
 * turns, and answers the report: per row the median of the rounds' costs (1 − row / gateway req/s) against its
 * target, every round's cost, and the median CPU each run adds to this process and to Postgres. Noise on a shared
 * machine moves whole rounds; the median of paired rounds is what one noisy round cannot decide.
 */
async function comparePaired(gateway: PairedTarget["drive"], paired: PairedTarget[], postgres: PostgresCpu): Promise<string> {
  const lines: string[] = [];
  const all = [{ name: "gateway", drive: gateway }, ...paired];
  for (const connections of CONNECTIONS) {
    const loadBefore = loadAverage();
    for (const target of all) await target.drive(connections, WARMUP_S);
    const runs = new Map<string, LoadResult[]>(all.map((t) => [t.name, []]));
    for (let round = 0; round < PAIRS; round++) {
      for (const target of round % 2 === 0 ? all : [...all].reverse()) {
        const postgres0 = await postgres.snapshot();
        const r = await target.drive(connections, PAIR_S);
        r.postgresCpuUs = cpuBetween(postgres0, await postgres.snapshot()) / Math.max(1, r.total);
        if (r.errors || r.non2xx) throw new Error(`${target.name} at ${connections} connections: ${r.errors} errors, ${r.non2xx} non-2xx`);
        runs.get(target.name)!.push(r);
      }
      process.stderr.write(
        `paired round ${round + 1}, ${connections} connections: ${all.map((t) => `${t.name} ${runs.get(t.name)!.at(-1)!.rps.toFixed(0)}`).join(", ")} req/s\n`,
      );
    }
    const base = runs.get("gateway")!;
    lines.push(
      `paired with "gateway" at ${connections} connections (${PAIRS} rounds of ${PAIR_S} s, load average ${loadBefore} before, ${loadAverage()} after); gateway ${Math.round(median(base.map((r) => r.rps)))} req/s, CPU ${Math.round(median(base.map((r) => r.cpuUs)))} µs/req, Postgres ${Math.round(median(base.map((r) => r.postgresCpuUs ?? 0)))} µs/req`,
    );
    for (const target of paired) {
      const own = runs.get(target.name)!;
      const costs = own.map((r, i) => 1 - r.rps / base[i]!.rps);
      const cost = median(costs);
      const added = (field: (r: LoadResult) => number) => median(own.map((r, i) => field(r) - field(base[i]!))).toFixed(0);
      if (target.limit === undefined) {
        const ratios = own.map((r, i) => base[i]!.rps / r.rps);
        lines.push(
          `  gateway / ${target.name}: ${median(ratios).toFixed(2)}, median of rounds (${ratios.map((x) => x.toFixed(2)).join(" / ")}); ` +
            `${Math.round(median(own.map((r) => r.rps)))} req/s, p99 ${median(own.map((r) => r.p99))} ms (gateway ${median(base.map((r) => r.p99))} ms); ` +
            `CPU ${Math.round(median(own.map((r) => r.cpuUs)))} µs/req, Postgres ${Math.round(median(own.map((r) => r.postgresCpuUs ?? 0)))} µs/req`,
        );
        continue;
      }
      lines.push(
        `  ${target.name}: ${(cost * 100).toFixed(1)} % below "gateway", median of rounds (target ≤ ${target.limit * 100} %: ${cost <= target.limit ? "met" : "not met"}); ` +
          `rounds ${costs.map((c) => `${(c * 100).toFixed(1)}`).join(" / ")} %; ${Math.round(median(own.map((r) => r.rps)))} req/s; ` +
          `adds ${added((r) => r.cpuUs)} µs gateway CPU and ${added((r) => r.postgresCpuUs ?? 0)} µs Postgres CPU per run (median of rounds)`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

await main();

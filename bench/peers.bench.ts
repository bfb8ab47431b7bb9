/**
 * Verdict's durable `POST /run/policy/{baseId}` against two peers in the same run (issue #15, point 2). Run with
 * `npm run bench:peers`.
 *
 * Starts, on this machine:
 *   Verdict   the start command (`tsx src/main.ts`, WORKERS=1, production settings, logging off) on a fresh
 *             database, with the six-rule driving-test policy published and a VIEW API key; every run writes
 *             its durable, hash-chained audit event before answering;
 *   Cerbos    the real PDP from the `@cerbos/cerbos-linux-x64` package (`cerbos server`, disk store, audit
 *             off, log level warn) with the same rules in CEL (bench/peers/driving-test.cerbos.yaml), asked
 *             through its HTTP API `POST /api/check/resources`;
 *   zen       GoRules zen-engine (its Linux x64 binding `@gorules/zen-engine-linux-x64-gnu`) evaluating the same rules as a JDM expression node
 *             (bench/peers/driving-test.zen.json) behind a bare `node:http` server (bench/peers/zen-server.ts).
 * First it checks on 300 generated inputs (seeded, so every run uses the same ones) that the three agree on
 * allow / deny; then it drives each with autocannon (a child process), interleaved, at 10 and 50 connections,
 * and prints req/s, p50/p99 and the CPU per request of each server (its processes, read from /proc) and of
 * the Postgres backends serving Verdict's database.
 *
 * Targets (issue #15): Verdict ≥ 2 × Cerbos and ≥ 1.2 × zen at both concurrencies. Absolute figures vary ±30 %
 * on shared machines; compare the rows of one run.
 *
 * Environment: BENCH_DURATION_S (default 8), BENCH_ROUNDS (default 2, median counts), BENCH_INPUTS (300),
 * DATABASE_URL (else a throw-away database on the test Postgres).
 */
import "reflect-metadata";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile, copyFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { startGateway } from "../src/gateway.js";
import { createLogger } from "../src/logging.js";
import { drivingTestData } from "../test/support/driving-test.js";
import { BENCH_SECRET, benchConfig } from "./support/config.js";
import { cpuBetween, PostgresCpu, snapshot } from "./support/cpu.js";
import { benchDatabase } from "./support/database.js";
import { setUpDrivingTest } from "./support/driving-test-setup.js";
import { drive, type LoadResult } from "./support/load.js";
import { freePort, spawnGateway, type SpawnedGateway } from "./support/spawn-gateway.js";
import { median } from "./support/median.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const INPUTS = Number(process.env.BENCH_INPUTS ?? 300);
const WARMUP_S = 2;
const PEERS = path.resolve(import.meta.dirname, "peers");
const CERBOS_BIN = createRequire(import.meta.url).resolve("@cerbos/cerbos-linux-x64/cerbos-linux-x64");

type DrivingTest = ReturnType<typeof drivingTestData>["drivingTest"];

interface Server {
  name: string;
  url: string;
  pids: () => number[];
  /** The request body for one input. */
  body: (input: DrivingTest) => string;
  /** Whether the server's answer allows the licence. */
  allowed: (answer: any) => boolean;
  headers?: Record<string, string>;
}

/** A small seeded generator (mulberry32), so that every run checks the same inputs. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Inputs around every rule's threshold, except where the engines' date arithmetic could legitimately differ:
 * dates of birth stay 3+ days from 2008-12-12, theory dates 10+ days from two years back, practical dates 2+
 * days from 30 days back (Verdict's "within" counts calendar days, the peers count 86,400-second days).
 */
function generateInputs(count: number, today: Date): DrivingTest[] {
  const next = random(15);
  const int = (from: number, to: number) => from + Math.floor(next() * (to - from + 1));
  const daysAgo = (days: number) => new Date(today.getTime() - days * 86_400_000).toISOString().slice(0, 10);
  const avoiding = (from: number, to: number, low: number, high: number) => {
    for (;;) {
      const value = int(from, to);
      if (value < low || value > high) return value;
    }
  };
  const edge = Date.UTC(2008, 11, 12);
  return Array.from({ length: count }, () => {
    let birth: number;
    do birth = Date.UTC(int(1950, 2015), int(0, 11), int(1, 28));
    while (Math.abs(birth - edge) < 3 * 86_400_000);
    return {
      person: { dateOfBirth: new Date(birth).toISOString().slice(0, 10) },
      scores: { theory: { multipleChoice: int(40, 50), hazardPerception: int(40, 55) }, practical: { major: next() < 0.15, minor: int(8, 18) } },
      testDates: { theory: daysAgo(avoiding(0, 900, 720, 740)), practical: daysAgo(avoiding(0, 40, 28, 32)) },
    };
  });
}

async function startCerbos(): Promise<{ url: string; child: ChildProcess; close: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "verdict-cerbos-"));
  await mkdir(path.join(dir, "policies"));
  await copyFile(path.join(PEERS, "driving-test.cerbos.yaml"), path.join(dir, "policies", "driving-test.yaml"));
  const [http, grpc] = [await freePort(), await freePort()];
  await writeFile(
    path.join(dir, "conf.yaml"),
    [
      "server:",
      `  httpListenAddr: "127.0.0.1:${http}"`,
      `  grpcListenAddr: "127.0.0.1:${grpc}"`,
      "storage:",
      "  driver: disk",
      "  disk:",
      `    directory: ${path.join(dir, "policies")}`,
      "    watchForChanges: false",
      "audit:",
      "  enabled: false",
      "telemetry:",
      "  disabled: true",
      "",
    ].join("\n"),
  );
  const child = spawn(CERBOS_BIN, ["server", `--config=${path.join(dir, "conf.yaml")}`, "--log-level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr!.on("data", (chunk) => (errors += chunk));
  const url = `http://127.0.0.1:${http}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`cerbos exited with ${child.exitCode}: ${errors}`);
    if (
      await fetch(`${url}/_cerbos/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error(`cerbos did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    url,
    child,
    close: async () => {
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startZen(): Promise<{ url: string; child: ChildProcess; close: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(PEERS, "zen-server.ts"), path.join(PEERS, "driving-test.zen.json")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", (code) => reject(new Error(`the zen server exited with ${code}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    child,
    close: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = benchConfig(databaseUrl);
  // Set up the tenant through an in-process gateway, then serve it from the start command like an operator.
  const setup = await startGateway(config, createLogger("silent"));
  const tenant = await setUpDrivingTest(setup, config).finally(() => setup.close());
  const postgres = await PostgresCpu.open(databaseUrl);
  const started: { close: () => Promise<void> }[] = [];
  try {
    const verdict: SpawnedGateway = await spawnGateway({ databaseUrl, secret: BENCH_SECRET, workers: 1 });
    started.push(verdict);
    const cerbos = await startCerbos();
    started.push(cerbos);
    const zen = await startZen();
    started.push(zen);
    const servers: Server[] = [
      {
        name: "Verdict /run/policy (durable audit)",
        url: `${verdict.url}/run/policy/${tenant.baseId}`,
        pids: verdict.pids,
        headers: { "x-api-key": tenant.key, "user-agent": "Go-http-client/1.1" },
        body: (input) => JSON.stringify({ data: { drivingTest: input } }),
        allowed: (answer) => answer.result === true,
      },
      {
        name: "Cerbos PDP 0.55 (CEL, audit off)",
        url: `${cerbos.url}/api/check/resources`,
        pids: () => [cerbos.child.pid!],
        body: (input) =>
          JSON.stringify({
            requestId: "bench",
            principal: { id: "applicant", roles: ["applicant"] },
            resources: [{ actions: ["licence"], resource: { kind: "driving_test", id: "1", attr: input } }],
          }),
        allowed: (answer) => answer.results[0].actions.licence === "EFFECT_ALLOW",
      },
      {
        name: "zen-engine 0.54 behind node:http",
        url: zen.url,
        pids: () => [zen.child.pid!],
        body: (input) => JSON.stringify({ data: { drivingTest: input } }),
        allowed: (answer) => answer.result === true,
      },
    ];

    // Agreement: every server answers every generated input, and all say the same.
    const inputs = generateInputs(INPUTS, new Date());
    let allowedCount = 0;
    for (const [i, input] of inputs.entries()) {
      const answers = await Promise.all(
        servers.map(async (s) => {
          const response = await fetch(s.url, { method: "POST", headers: { "content-type": "application/json", ...s.headers }, body: s.body(input) });
          const answer = await response.json();
          if (response.status !== 200) throw new Error(`${s.name}: ${response.status} ${JSON.stringify(answer)}`);
          return s.allowed(answer);
        }),
      );
      if (answers.some((a) => a !== answers[0])) {
        throw new Error(`input ${i} ${JSON.stringify(input)}: ${servers.map((s, j) => `${s.name} ${answers[j] ? "allow" : "deny"}`).join(", ")}`);
      }
      if (answers[0]) allowedCount += 1;
    }
    process.stdout.write(
      `agreement: all ${servers.length} servers agree on ${inputs.length} generated inputs (${allowedCount} allow, ${inputs.length - allowedCount} deny)\n`,
    );

    // Load: the README's passing example, the same for everyone.
    const passing = drivingTestData(new Date()).drivingTest;
    const rows: { connections: number; server: string; "req/s": number; [column: string]: number | string }[] = [];
    for (const connections of [10, 50]) {
      const results = new Map<string, LoadResult[]>(servers.map((s) => [s.name, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const s of servers) {
          const load = (seconds: number) => drive({ url: s.url, body: s.body(passing), headers: s.headers, connections, seconds });
          await load(WARMUP_S);
          const [server0, postgres0] = [snapshot(s.pids()), await postgres.snapshot()];
          const r = await load(DURATION_S);
          const [server1, postgres1] = [snapshot(s.pids()), await postgres.snapshot()];
          if (r.errors || r.non2xx) throw new Error(`${s.name} at ${connections} connections: ${r.errors} errors, ${r.non2xx} non-2xx`);
          r.cpuUs = cpuBetween(server0, server1) / Math.max(1, r.total);
          r.postgresCpuUs = cpuBetween(postgres0, postgres1) / Math.max(1, r.total);
          results.get(s.name)!.push(r);
          process.stderr.write(
            `round ${round}, ${connections} connections, ${s.name}: ${r.rps.toFixed(0)} req/s p99 ${r.p99} ms, ${r.cpuUs.toFixed(0)} µs CPU/req, Postgres ${r.postgresCpuUs.toFixed(0)}\n`,
          );
        }
      }
      for (const s of servers) {
        const runs = results.get(s.name)!;
        rows.push({
          connections,
          server: s.name,
          "req/s": Math.round(median(runs.map((r) => r.rps))),
          "p50 ms": median(runs.map((r) => r.p50)),
          "p99 ms": median(runs.map((r) => r.p99)),
          "server CPU µs/req": Math.round(median(runs.map((r) => r.cpuUs))),
          "Postgres CPU µs/req": Math.round(median(runs.map((r) => r.postgresCpuUs ?? 0))),
        });
      }
    }
    process.stdout.write(`\nThe driving-test policy on Verdict and two peers; ${DURATION_S} s per run, median of ${ROUNDS}\n`);
    console.table(rows);
    for (const connections of [10, 50]) {
      const at = (name: string) => rows.find((r) => r.connections === connections && r.server === name)!["req/s"];
      const v = at(servers[0]!.name);
      const toCerbos = v / at(servers[1]!.name);
      const toZen = v / at(servers[2]!.name);
      process.stdout.write(
        `${connections} connections: Verdict / Cerbos ${toCerbos.toFixed(2)} (≥ 2: ${toCerbos >= 2 ? "met" : "not met"}), ` +
          `Verdict / zen ${toZen.toFixed(2)} (≥ 1.2: ${toZen >= 1.2 ? "met" : "not met"})\n`,
      );
    }
  } finally {
    for (const server of started.reverse()) await server.close();
    await postgres.close();
    await drop();
  }
}

await main();

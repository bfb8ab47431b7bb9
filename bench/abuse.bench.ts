/**
 * Abuse benchmark (issue #11). Run with `npm run bench:abuse`.
 *
 * Starts a gateway in this process on a fresh database with two tenants. For each construct of
 * bench/support/abuse-cases.ts (the worst input we know at the request limits) plus a wide and a deep flow, a
 * child process keeps ATTACKERS requests of tenant A in flight for BENCH_DURATION_S seconds while it probes, one
 * after the other, `GET /healthz` and an ordinary `POST /run` of tenant B. It prints, per construct:
 *   block    the longest event-loop delay of the gateway process (perf_hooks.monitorEventLoopDelay, max);
 *   p99      the 99th percentile latency of tenant B's probes (healthz and run together);
 *   answers  what tenant A got (status codes), to show the attack was refused or answered, not dropped.
 * Targets: every row block ≤ 50 ms and p99 ≤ 100 ms. Clients run in a child process so that their own work
 * (serialising 900 KB bodies, parsing answers) is not counted as the gateway's; the child also builds the attack
 * bodies, so that the gateway's heap holds only the gateway (megabytes of attack text and the objects they were
 * serialised from made its garbage collections longer than the gateway's own data does). Rows whose name starts
 * with `graphql` send the same worst inputs as `runRule` variables to `/graphql` (`graphql chunked`: without a declared
 * length); the `grpc` row calls RunPolicy on the gateway's gRPC port with a large `data` Struct.
 *
 * Environment: BENCH_DURATION_S (default 5), BENCH_ATTACKERS (default 10), BENCH_ONLY (a regular expression: run
 * only the constructs whose name matches, e.g. to profile one with `node --cpu-prof`), BENCH_BLOCKS=1 (print each
 * row's longest blocks split into the event loop's own CPU time, its wait for a CPU — other processes' share of a
 * loaded machine — and garbage collection, from /proc/thread-self/schedstat and the `gc` performance entries, and
 * the blocks with the most own CPU and the most GC), DATABASE_URL (else a throw-away database on the test Postgres).
 */
import "reflect-metadata";
import { fork } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startGateway } from "../src/gateway.js";
import { issueApiKey } from "../src/identity/api-key-format.js";
import { createLogger } from "../src/logging.js";
import { loadExecutionClients, toStruct } from "../test/grpc/support.js";
import { abuseCases } from "./support/abuse-cases.js";
import { benchConfig, benchToken } from "./support/config.js";
import { benchDatabase } from "./support/database.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ATTACKERS = Number(process.env.BENCH_ATTACKERS ?? 10);
const ONLY = new RegExp(process.env.BENCH_ONLY ?? "", "i");
const BLOCKS = process.env.BENCH_BLOCKS === "1";
const ORDINARY = { rule: "A **Person** gets approved if __age__ of **Person** is greater than 18.", data: { Person: { age: 30 } } };

interface Attack {
  name: string;
  /** An HTTP path, or `grpc` for RunPolicy on the gateway's gRPC port. */
  path: string;
  /** Built by the client child only (see the file comment). For `grpc`, the JSON of the request's `data`. */
  body: () => string;
  /** Sent in chunks without a declared length (HTTP). */
  chunked?: boolean;
}

interface ClientJob {
  url: string;
  grpcAddress: string;
  attackerKey: string;
  probeKey: string;
  /** The attack's name in attacks(baseId). */
  attack: string;
  baseId: string;
  seconds: number;
  attackers: number;
}

const RUN_RULE = "mutation Abuse($rule: String!, $data: JSONObject!) { runRule(rule: $rule, data: $data) { result error } }";

/** Every attack, its body built on demand: the worst inputs of abuse-cases.ts over REST and GraphQL, and two flows. */
function attacks(baseId: string): Attack[] {
  const pad = "a".repeat(900_000);
  const wide = () => Array.from({ length: 550 }, (_, i) => `    - id: n${i}\n      type: start\n      policyId: ${baseId}\n`).join("");
  const deep = () => {
    let text = `      - id: leaf\n        type: return\n        returnValue: true\n`;
    for (let i = 62; i >= 1; i--)
      text = `      - id: d${i}\n        type: policy\n        policyId: ${baseId}\n        onTrue:\n${text.replace(/^/gm, "    ")}`;
    return text;
  };
  const cases = abuseCases();
  const graphql = ["fuzzy keys", "aggregates", "formats (email)", "contains (words)"];
  return [
    ...cases.map((c) => ({ name: c.name, path: "/run", body: () => JSON.stringify({ rule: c.rule, data: c.data }) })),
    {
      name: "wide flow (550 nodes, 900 KB data)",
      path: "/flow/test",
      body: () => JSON.stringify({ flow: `flow:\n  start:\n${wide()}`, data: { x: { s: "a" }, pad } }),
    },
    {
      name: "deep flow (63 levels, 900 KB data)",
      path: "/flow/test",
      body: () =>
        JSON.stringify({
          flow: `flow:\n  start:\n    - id: d0\n      type: start\n      policyId: ${baseId}\n      onTrue:\n${deep()}`,
          data: { x: { s: pad } },
        }),
    },
    ...cases
      .filter((c) => graphql.includes(c.name))
      .map((c) => ({
        name: `graphql ${c.name}`,
        path: "/graphql",
        body: () => JSON.stringify({ query: RUN_RULE, variables: { rule: c.rule, data: c.data } }),
      })),
    ...cases
      .filter((c) => c.name === "fuzzy keys")
      .map((c) => ({
        name: `graphql chunked ${c.name}`,
        path: "/graphql",
        chunked: true,
        body: () => JSON.stringify({ query: RUN_RULE, variables: { rule: c.rule, data: c.data } }),
      })),
    {
      // 40,000 numbers in a Struct: about 850 KB of protobuf, the most Values a message under the limit carries.
      name: "grpc struct (40,000 keys)",
      path: "grpc",
      body: () => JSON.stringify({ x: { s: "a" }, wide: Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, i])) }),
    },
  ];
}

/** An attacker's calls of RunPolicy with `data` (a Struct), encoded once; each answer is counted by its status. */
function grpcAttacker(job: ClientJob, data: Record<string, unknown>, until: number, statuses: Record<string, number>): () => Promise<void> {
  const { PolicyService } = loadExecutionClients();
  const method = PolicyService.service.RunPolicy!;
  const client = new grpc.Client(job.grpcAddress, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("x-api-key", job.attackerKey);
  const encoded = method.requestSerialize({ baseId: job.baseId, data: toStruct(data) });
  const raw = (bytes: Buffer) => bytes;
  return async () => {
    while (Date.now() < until) {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(method.path, raw, raw, encoded, metadata, (e) => resolve(e)),
      );
      const key = error ? `${grpc.status[error.code]} ${error.details.slice(0, 60)}` : "OK";
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
}

interface ClientReport {
  probes: number[];
  statuses: Record<string, number>;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
};

/** The child: attackers and one prober, all for `seconds`. */
async function client(job: ClientJob, ready: () => Promise<void>): Promise<ClientReport> {
  const attack = attacks(job.baseId).find((a) => a.name === job.attack)!;
  const body = attack.body();
  await ready();
  const until = Date.now() + job.seconds * 1000;
  const statuses: Record<string, number> = {};
  const probes: number[] = [];
  const overHttp = async () => {
    const bytes = new TextEncoder().encode(body);
    while (Date.now() < until) {
      // A refused body (413) closes the connection, possibly while the client is still sending it.
      const response = await fetch(job.url + attack.path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": job.attackerKey },
        // A stream has no length to declare: fetch sends it in chunks.
        body: attack.chunked ? new Blob([bytes]).stream() : body,
        ...(attack.chunked ? { duplex: "half" } : {}),
      } as RequestInit).catch(() => null);
      if (response === null) {
        statuses.closed = (statuses.closed ?? 0) + 1;
        continue;
      }
      const text = await response.text();
      let code = "";
      try {
        const parsed = JSON.parse(text) as { code?: string; error?: string | null; data?: any; errors?: any[] };
        // GraphQL: the run's error, else the first error's code.
        const error = parsed.data?.runRule?.error ?? parsed.error;
        code = parsed.code ?? parsed.errors?.[0]?.extensions?.code ?? (error ? error.replace(/^.*\((\w+)\)$/, "$1") : "");
      } catch {
        code = "?";
      }
      // Some messages quote the whole rule text: the first words say which error it was.
      const key = `${response.status}${code ? " " + code.slice(0, 60) : ""}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  const prober = async () => {
    const body = JSON.stringify(ORDINARY);
    // Let the attack get going first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    let healthz = true;
    while (Date.now() < until) {
      const started = performance.now();
      const response = healthz
        ? await fetch(job.url + "/healthz")
        : await fetch(job.url + "/run", { method: "POST", headers: { "content-type": "application/json", "x-api-key": job.probeKey }, body });
      await response.text();
      if (!response.ok) throw new Error(`probe answered ${response.status}`);
      probes.push(performance.now() - started);
      healthz = !healthz;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const attacker = attack.path === "grpc" ? grpcAttacker(job, JSON.parse(body) as Record<string, unknown>, until, statuses) : overHttp;
  await Promise.all([...Array.from({ length: job.attackers }, attacker), prober()]);
  return { probes, statuses };
}

/** Runs `job` in a child; `starting` is called once the child has built its body, just before the attack starts. */
async function runClient(job: ClientJob, starting: () => void): Promise<ClientReport> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, ABUSE_CLIENT: "1" }, execArgv: ["--import", "tsx"] });
  return new Promise((resolve, reject) => {
    child.on("message", (message) => {
      if (message === "ready") {
        starting();
        child.send("go");
      } else resolve(message as ClientReport);
    });
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && reject(new Error(`client exited with ${code}`)));
    child.send(job);
  });
}

/**
 * The gateway thread's longest blocks, each split into its own CPU time, its wait for a CPU (runqueue) and garbage
 * collection (BENCH_BLOCKS=1): on a shared machine the wait is other processes' work, not the gateway's.
 */
class BlockRecorder {
  private blocks: { at: number; ms: number; ranMs: number; waitedMs: number }[] = [];
  private gcs: { start: number; ms: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcs.push({ start: entry.startTime, ms: entry.duration });
  });

  start(): void {
    this.observer.observe({ entryTypes: ["gc"] });
    let last = performance.now();
    let [ran, waited] = schedstat();
    this.timer = setInterval(() => {
      const now = performance.now();
      const [ranNow, waitedNow] = schedstat();
      if (now - last > 20) this.blocks.push({ at: last, ms: now - last, ranMs: (ranNow - ran) / 1e6, waitedMs: (waitedNow - waited) / 1e6 });
      last = now;
      ran = ranNow;
      waited = waitedNow;
    }, 2);
  }

  reset(): void {
    this.blocks = [];
    this.gcs = [];
  }

  /**
   * The `n` blocks with the most `by` as text: total (ran / waited for a CPU / of which GC). On a shared machine the
   * longest blocks are mostly waits; the ones with the most own CPU or GC are the gateway's to fix.
   */
  longest(n: number, by: "ms" | "ran" | "gc" = "ms"): string {
    const gcOf = (b: { at: number; ms: number }) =>
      this.gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.start + g.ms, b.at + b.ms) - Math.max(g.start, b.at)), 0);
    return [...this.blocks]
      .sort((a, b) => (by === "ms" ? b.ms - a.ms : by === "ran" ? b.ranMs - a.ranMs : gcOf(b) - gcOf(a)))
      .slice(0, n)
      .map((b) => {
        const gc = gcOf(b);
        return `${b.ms.toFixed(0)} (ran ${b.ranMs.toFixed(0)}, waited ${b.waitedMs.toFixed(0)}, gc ${gc.toFixed(0)})`;
      })
      .join("; ");
  }

  stop(): void {
    clearInterval(this.timer);
    this.observer.disconnect();
  }
}

/** This thread's CPU time and time waiting for a CPU, in ns (Linux). */
function schedstat(): [number, number] {
  const [ran, waited] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number);
  return [ran ?? 0, waited ?? 0];
}

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = { ...benchConfig(databaseUrl), GRPC_PORT: 0 };
  const gateway = await startGateway(config, createLogger("silent"));
  try {
    const { prisma } = gateway.database;
    const keyFor = async (slug: string) => {
      const tenant = await prisma.tenant.create({ data: { slug: `${slug}-${Date.now()}`, name: slug } });
      const issued = issueApiKey(tenant.id);
      await prisma.apiKey.create({ data: { tenantId: tenant.id, name: slug, prefix: issued.prefix, secretHash: issued.secretHash, scopes: ["VIEW"] } });
      return { tenant, key: issued.key };
    };
    const attacker = await keyFor("attacker");
    const other = await keyFor("other");

    // A stored policy for the flows.
    const user = await prisma.user.create({
      data: { tenantId: attacker.tenant.id, subject: `bench|${attacker.tenant.id}`, email: "a@bench.test", name: "A", roles: ["PUBLISHER"] },
    });
    const token = await benchToken(config, user.subject);
    const created = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: "mutation($input: CreateResourceInput!) { createPolicy(input: $input) { base { id } } }",
        variables: { input: { name: "padding", content: 'A **x** is ok if __s__ of **x** contains "a".' } },
      }),
    });
    const baseId: string = ((await created.json()) as any).data.createPolicy.base.id;
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const blocks = new BlockRecorder();
    if (BLOCKS) blocks.start();
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    console.log(`node ${process.version}, ${ATTACKERS} attackers of one tenant, ${DURATION_S} s per construct; other tenant probes /healthz and /run`);
    console.log(`${"construct".padEnd(36)} ${"block ms".padStart(9)} ${"p99 ms".padStart(8)} ${"probes".padStart(7)}  attacker answers`);
    for (const attack of attacks(baseId).filter((a) => ONLY.test(a.name))) {
      const job = {
        url: gateway.url,
        grpcAddress: gateway.grpcAddress!,
        attackerKey: attacker.key,
        probeKey: other.key,
        attack: attack.name,
        baseId,
        seconds: DURATION_S,
        attackers: ATTACKERS,
      };
      const report = await runClient(job, () => {
        histogram.reset();
        blocks.reset();
      });
      const block = histogram.max / 1e6;
      const p99 = percentile(report.probes, 0.99);
      const answers = Object.entries(report.statuses)
        .map(([k, n]) => `${n}× ${k}`)
        .join(", ");
      console.log(
        `${attack.name.padEnd(36)} ${block.toFixed(1).padStart(9)} ${p99.toFixed(1).padStart(8)} ${String(report.probes.length).padStart(7)}  ${answers}`,
      );
      if (BLOCKS) console.log(`${"".padEnd(36)} longest blocks ms: ${blocks.longest(3)}`);
      if (BLOCKS) console.log(`${"".padEnd(36)} most CPU ms: ${blocks.longest(3, "ran")}; most GC: ${blocks.longest(2, "gc")}`);
    }
    histogram.disable();
    blocks.stop();
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
  } finally {
    await gateway.close();
    await drop();
  }
}

if (process.env.ABUSE_CLIENT === "1") {
  process.once("message", (job) => {
    const ready = () =>
      new Promise<void>((resolve) => {
        process.once("message", () => resolve());
        process.send!("ready");
      });
    client(job as ClientJob, ready).then(
      (report) => process.send!(report, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

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
 * (serialising 900 KB bodies, parsing answers) is not counted as the gateway's.
 *
 * Environment: BENCH_DURATION_S (default 5), BENCH_ATTACKERS (default 10), BENCH_ONLY (a regular expression: run
 * only the constructs whose name matches, e.g. to profile one with `node --cpu-prof`), DATABASE_URL (else a
 * throw-away database on the test Postgres).
 */
import "reflect-metadata";
import { fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startGateway } from "../src/gateway.js";
import { issueApiKey } from "../src/identity/api-key-format.js";
import { createLogger } from "../src/logging.js";
import { abuseCases } from "./support/abuse-cases.js";
import { benchConfig, benchToken } from "./support/config.js";
import { benchDatabase } from "./support/database.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ATTACKERS = Number(process.env.BENCH_ATTACKERS ?? 10);
const ONLY = new RegExp(process.env.BENCH_ONLY ?? "", "i");
const ORDINARY = { rule: "A **Person** gets approved if __age__ of **Person** is greater than 18.", data: { Person: { age: 30 } } };

interface Attack {
  name: string;
  path: string;
  body: string;
}

interface ClientJob {
  url: string;
  attackerKey: string;
  probeKey: string;
  attack: Attack;
  seconds: number;
  attackers: number;
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
async function client(job: ClientJob): Promise<ClientReport> {
  const until = Date.now() + job.seconds * 1000;
  const statuses: Record<string, number> = {};
  const probes: number[] = [];
  const attacker = async () => {
    while (Date.now() < until) {
      // A refused body (413) closes the connection, possibly while the client is still sending it.
      const response = await fetch(job.url + job.attack.path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": job.attackerKey },
        body: job.attack.body,
      }).catch(() => null);
      if (response === null) {
        statuses.closed = (statuses.closed ?? 0) + 1;
        continue;
      }
      const text = await response.text();
      let code = "";
      try {
        const parsed = JSON.parse(text) as { code?: string; error?: string | null };
        code = parsed.code ?? (parsed.error ? parsed.error.replace(/^.*\((\w+)\)$/, "$1") : "");
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
  await Promise.all([...Array.from({ length: job.attackers }, attacker), prober()]);
  return { probes, statuses };
}

async function runClient(job: ClientJob): Promise<ClientReport> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, ABUSE_CLIENT: "1" }, execArgv: ["--import", "tsx"] });
  return new Promise((resolve, reject) => {
    child.once("message", (report) => resolve(report as ClientReport));
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && reject(new Error(`client exited with ${code}`)));
    child.send(job);
  });
}

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = benchConfig(databaseUrl);
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
    const pad = "a".repeat(900_000);
    const wide = Array.from({ length: 550 }, (_, i) => `    - id: n${i}\n      type: start\n      policyId: ${baseId}\n`).join("");
    let deep = `      - id: leaf\n        type: return\n        returnValue: true\n`;
    for (let i = 62; i >= 1; i--) {
      const indent = "  ".repeat(0);
      deep = `${indent}      - id: d${i}\n        type: policy\n        policyId: ${baseId}\n        onTrue:\n${deep.replace(/^/gm, "    ")}`;
    }
    const attacks: Attack[] = [
      ...abuseCases().map((c) => ({ name: c.name, path: "/run", body: JSON.stringify({ rule: c.rule, data: c.data }) })),
      {
        name: "wide flow (550 nodes, 900 KB data)",
        path: "/flow/test",
        body: JSON.stringify({ flow: `flow:\n  start:\n${wide}`, data: { x: { s: "a" }, pad } }),
      },
      {
        name: "deep flow (63 levels, 900 KB data)",
        path: "/flow/test",
        body: JSON.stringify({
          flow: `flow:\n  start:\n    - id: d0\n      type: start\n      policyId: ${baseId}\n      onTrue:\n${deep}`,
          data: { x: { s: pad } },
        }),
      },
    ];

    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    console.log(`node ${process.version}, ${ATTACKERS} attackers of one tenant, ${DURATION_S} s per construct; other tenant probes /healthz and /run`);
    console.log(`${"construct".padEnd(36)} ${"block ms".padStart(9)} ${"p99 ms".padStart(8)} ${"probes".padStart(7)}  attacker answers`);
    for (const attack of attacks.filter((a) => ONLY.test(a.name))) {
      histogram.reset();
      const report = await runClient({ url: gateway.url, attackerKey: attacker.key, probeKey: other.key, attack, seconds: DURATION_S, attackers: ATTACKERS });
      const block = histogram.max / 1e6;
      const p99 = percentile(report.probes, 0.99);
      const answers = Object.entries(report.statuses)
        .map(([k, n]) => `${n}× ${k}`)
        .join(", ");
      console.log(
        `${attack.name.padEnd(36)} ${block.toFixed(1).padStart(9)} ${p99.toFixed(1).padStart(8)} ${String(report.probes.length).padStart(7)}  ${answers}`,
      );
    }
    histogram.disable();
  } finally {
    await gateway.close();
    await drop();
  }
}

if (process.env.ABUSE_CLIENT === "1") {
  process.once("message", (job) => {
    client(job as ClientJob).then(
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

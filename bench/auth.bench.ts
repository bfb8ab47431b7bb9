/**
 * What authentication and the authorization shield cost. Run with `npm run bench:auth`.
 *
 * Starts four gateways in this process on one database (production settings, logging off) and drives
 * `{ viewer { credential } }` — a field that needs nothing beyond the credential — with autocannon
 * (10 connections, run as a separate process so it does not share the gateways' event loop):
 *   a) no authentication, no shield       (every request acts as a fixed principal)
 *   b) bearer token + shield               (the production path: JWT verify, user lookup, shield)
 *   c) API key + shield                    (checksum, key lookup, hash compare, shield)
 *   d) bearer token, no shield             (authentication alone)
 *   e) shield, no authentication           (the shield alone)
 * Each scenario runs ROUNDS times, interleaved; the median counts. Absolute figures vary ±30 % on shared
 * machines, so compare the ratios of one run. The gateways' CPU time per request (this process only;
 * autocannon runs in a child) is printed too: it is what the shield and authentication actually cost, and
 * it barely moves when other processes load the machine.
 *
 * Database: DATABASE_URL when set, else a throw-away database on the test Postgres (TEST_DATABASE_URL or
 * postgres://postgres@127.0.0.1:5432/postgres).
 */
import "reflect-metadata";
import { startGateway, type Gateway, type GatewayOptions } from "../src/gateway.js";
import { issueApiKey } from "../src/identity/api-key-format.js";
import type { TenantActor } from "../src/identity/actor.js";
import { createLogger } from "../src/logging.js";
import { drive, type LoadResult } from "./support/load.js";
import { benchConfig, benchUser } from "./support/config.js";
import { benchDatabase } from "./support/database.js";
import { median } from "./support/median.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const WARMUP_S = 2;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 10;
const QUERY = JSON.stringify({ query: "{ viewer { credential } }" });

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = benchConfig(databaseUrl);
  const logger = createLogger("silent");
  const gateways: Gateway[] = [];
  const start = async (options: GatewayOptions) => {
    const gateway = await startGateway(config, logger, options);
    gateways.push(gateway);
    return gateway;
  };
  try {
    const probe = await start({});
    const { prisma } = probe.database;
    const { tenantId, userId, token } = await benchUser(probe, config, "VIEWER");
    const issued = issueApiKey(tenantId);
    await prisma.apiKey.create({ data: { tenantId, name: "bench", prefix: issued.prefix, secretHash: issued.secretHash, scopes: ["VIEW"] } });
    const principal: TenantActor = { kind: "user", tenantId, userId, roles: ["VIEWER"] };
    const bearer = { authorization: `Bearer ${token}` };

    const bare = await start({ benchmark: { withoutShield: true, fixedActor: principal } });
    const shieldOnly = await start({ benchmark: { fixedActor: principal } });
    const authOnly = await start({ benchmark: { withoutShield: true } });
    const scenarios: { name: string; url: string; headers: Record<string, string> }[] = [
      { name: "a) no auth, no shield", url: bare.url, headers: {} },
      { name: "b) bearer token + shield", url: probe.url, headers: bearer },
      { name: "c) API key + shield", url: probe.url, headers: { "x-api-key": issued.key } },
      { name: "d) bearer token, no shield", url: authOnly.url, headers: bearer },
      { name: "e) shield, no auth", url: shieldOnly.url, headers: {} },
    ];
    for (const s of scenarios) {
      const check = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...s.headers }, body: QUERY });
      const body = await check.text();
      if (check.status !== 200 || (!body.includes('"credential":"USER"') && !body.includes('"credential":"API_KEY"'))) {
        throw new Error(`${s.name}: unexpected answer ${check.status} ${body}`);
      }
    }
    const runs = new Map<string, LoadResult[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const s of scenarios) {
        await drive({ url: `${s.url}/graphql`, body: QUERY, headers: s.headers, connections: CONNECTIONS, seconds: WARMUP_S });
        const result = await drive({ url: `${s.url}/graphql`, body: QUERY, headers: s.headers, connections: CONNECTIONS, seconds: DURATION_S });
        if (result.errors || result.non2xx) throw new Error(`${s.name}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
        process.stderr.write(`round ${round} ${s.name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.cpuUs.toFixed(0)} µs CPU/request\n`);
        runs.set(s.name, [...(runs.get(s.name) ?? []), result]);
      }
    }
    const best = new Map<string, LoadResult>(
      [...runs].map(([name, rs]) => [
        name,
        {
          rps: median(rs.map((r) => r.rps)),
          cpuUs: median(rs.map((r) => r.cpuUs)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          errors: 0,
          non2xx: 0,
          ok: median(rs.map((r) => r.ok)),
          total: median(rs.map((r) => r.total)),
        },
      ]),
    );
    const base = best.get(scenarios[0]!.name)!;
    const rows = scenarios.map((s) => {
      const r = best.get(s.name)!;
      return {
        scenario: s.name,
        "req/s": Math.round(r.rps),
        "p50 ms": r.p50,
        "p99 ms": r.p99,
        "throughput vs a": `${((r.rps / base.rps) * 100).toFixed(1)} %`,
        "cost vs a": `${((1 - r.rps / base.rps) * 100).toFixed(1)} %`,
        "CPU µs/req": Math.round(r.cpuUs),
        "CPU vs a": `+${((r.cpuUs / base.cpuUs - 1) * 100).toFixed(1)} %`,
      };
    });
    process.stdout.write(`\n{ viewer { credential } }, ${CONNECTIONS} connections, ${DURATION_S} s per run, median of ${ROUNDS}\n`);
    console.table(rows);
    const b = best.get(scenarios[1]!.name)!;
    const cost = 1 - b.rps / base.rps;
    process.stdout.write(
      `authentication + shield (b vs a): throughput ratio ${(b.rps / base.rps).toFixed(3)}, cost ${(cost * 100).toFixed(1)} % ` +
        `(target < 20 %: ${cost < 0.2 ? "met" : "not met"}); p99 ${base.p99} ms → ${b.p99} ms; ` +
        `gateway CPU per request ${Math.round(base.cpuUs)} µs → ${Math.round(b.cpuUs)} µs (+${((b.cpuUs / base.cpuUs - 1) * 100).toFixed(1)} %)\n`,
    );
  } finally {
    for (const gateway of gateways.reverse()) await gateway.close();
    await drop();
  }
}

await main();

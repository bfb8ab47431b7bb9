/**
 * The GraphQL path against a bare Apollo Server and against the REST route (issue #15, point 3). Run with
 * `npm run bench:graphql`.
 *
 * Starts, in this process (production settings, logging off), on one fresh database:
 *   bare Apollo    Apollo Server 5 on express 5 (the gateway's integration) with a two-field schema answering
 *                  `{ viewer { credential } }` with a constant; landing page, usage and schema reporting, inline
 *                  traces and cache control turned off, as the gateway has them; no armor, no authentication;
 *   the gateway    twice: as production runs it, and with neither authentication nor the shield (every
 *                  request acts as a fixed user, bench:auth's "a").
 * Then drives with autocannon (a child process), interleaved, at 10 connections:
 *   a) bare Apollo, `{ viewer { credential } }`
 *   b) gateway without authentication and shield, the same query
 *   c) gateway, bearer token + shield, the same query (the production path)
 *   d) gateway, `runPolicy` over GraphQL with an API key, the six-rule driving-test policy
 *   e) gateway, `POST /run/policy/{baseId}` with the same key, policy and data
 * and prints req/s, p50/p99 and CPU per request of this process (autocannon's is not counted).
 *
 * Targets (issue #15): c ≥ 0.8 × a; authentication + shield (1 − c/b) ≤ 15 %. Absolute figures vary ±30 % on
 * shared machines; compare the rows of one run.
 *
 * Environment: BENCH_DURATION_S (default 8), BENCH_ROUNDS (default 2, median counts), BENCH_CONNECTIONS (10),
 * BENCH_ONLY (scenario letters to drive, e.g. "c" while taking a CPU profile; the ratios then print only when
 * their rows ran), DATABASE_URL (else a throw-away database on the test Postgres).
 */
import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginSchemaReportingDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginUsageReportingDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { startGateway, type Gateway } from "../src/gateway.js";
import { createLogger } from "../src/logging.js";
import { drivingTestData } from "../test/support/driving-test.js";
import { benchConfig } from "./support/config.js";
import { benchDatabase } from "./support/database.js";
import { setUpDrivingTest } from "./support/driving-test-setup.js";
import { drive, type LoadResult } from "./support/load.js";
import { median } from "./support/median.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WARMUP_S = 2;
const ONLY = process.env.BENCH_ONLY?.split(",").map((letter) => letter.trim());
const TRIVIAL = JSON.stringify({ query: "{ viewer { credential } }" });

async function startBareApollo(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  const server = http.createServer(app);
  const apollo = new ApolloServer({
    typeDefs: "type Query { viewer: Viewer! } type Viewer { credential: String! }",
    resolvers: { Query: { viewer: () => ({ credential: "USER" }) } },
    introspection: false,
    csrfPrevention: true,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();
  app.use("/graphql", express.json(), expressMiddleware(apollo));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await apollo.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = benchConfig(databaseUrl);
  const logger = createLogger("silent");
  const gateways: Gateway[] = [];
  const bare = await startBareApollo();
  try {
    const gateway = await startGateway(config, logger);
    gateways.push(gateway);
    const tenant = await setUpDrivingTest(gateway, config);
    const user = await gateway.database.prisma.user.findFirstOrThrow({ where: { tenantId: tenant.tenantId } });
    const unguarded = await startGateway(config, logger, {
      benchmark: { withoutShield: true, fixedActor: { kind: "user", tenantId: tenant.tenantId, userId: user.id, roles: user.roles } },
    });
    gateways.push(unguarded);
    const data = drivingTestData(new Date());
    const runPolicy = JSON.stringify({
      query: "mutation($baseId: ID!, $data: JSONObject!) { runPolicy(baseId: $baseId, data: $data) { result trace rule data error labels } }",
      variables: { baseId: tenant.baseId, data },
    });
    const key = { "x-api-key": tenant.key };
    const all: { name: string; url: string; body: string; headers: Record<string, string>; check: (body: string) => boolean }[] = [
      { name: "a) bare Apollo 5", url: `${bare.url}/graphql`, body: TRIVIAL, headers: {}, check: (b) => b.includes('"credential":"USER"') },
      { name: "b) gateway, no auth, no shield", url: `${unguarded.url}/graphql`, body: TRIVIAL, headers: {}, check: (b) => b.includes('"credential":"USER"') },
      {
        name: "c) gateway, bearer token + shield",
        url: `${gateway.url}/graphql`,
        body: TRIVIAL,
        headers: { authorization: `Bearer ${tenant.token}` },
        check: (b) => b.includes('"credential":"USER"'),
      },
      { name: "d) runPolicy over GraphQL (API key)", url: `${gateway.url}/graphql`, body: runPolicy, headers: key, check: (b) => b.includes('"result":true') },
      {
        name: "e) POST /run/policy (API key)",
        url: `${gateway.url}/run/policy/${tenant.baseId}`,
        body: JSON.stringify({ data }),
        headers: key,
        check: (b) => b.includes('"result":true'),
      },
    ];
    const scenarios = all.filter((s) => !ONLY || ONLY.includes(s.name[0]!));
    for (const s of scenarios) {
      const response = await fetch(s.url, { method: "POST", headers: { "content-type": "application/json", ...s.headers }, body: s.body });
      const text = await response.text();
      if (response.status !== 200 || !s.check(text) || text.includes('"errors"')) throw new Error(`${s.name}: ${response.status} ${text.slice(0, 300)}`);
    }
    process.stderr.write(
      `load average at the start: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}\n`,
    );
    const runs = new Map<string, LoadResult[]>(scenarios.map((s) => [s.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const s of scenarios) {
        await drive({ url: s.url, body: s.body, headers: s.headers, connections: CONNECTIONS, seconds: WARMUP_S });
        const r = await drive({ url: s.url, body: s.body, headers: s.headers, connections: CONNECTIONS, seconds: DURATION_S });
        if (r.errors || r.non2xx) throw new Error(`${s.name}: ${r.errors} errors, ${r.non2xx} non-2xx responses`);
        process.stderr.write(
          `round ${round} ${s.name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.cpuUs.toFixed(0)} µs CPU/request, load ${loadavg()[0]!.toFixed(1)}\n`,
        );
        runs.get(s.name)!.push(r);
      }
    }
    const summary = new Map(
      scenarios.map((s) => {
        const rs = runs.get(s.name)!;
        return [
          s.name,
          { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpuUs: median(rs.map((r) => r.cpuUs)) },
        ];
      }),
    );
    process.stdout.write(`\nGraphQL against bare Apollo and REST, ${CONNECTIONS} connections, ${DURATION_S} s per run, median of ${ROUNDS}\n`);
    console.table(
      scenarios.map((s) => {
        const r = summary.get(s.name)!;
        return { scenario: s.name, "req/s": Math.round(r.rps), "p50 ms": r.p50, "p99 ms": r.p99, "CPU µs/req": Math.round(r.cpuUs) };
      }),
    );
    const [a, b, c, d, e] = all.map((s) => summary.get(s.name));
    if (a && c) {
      const toApollo = c.rps / a.rps;
      process.stdout.write(
        `trivial query, gateway (c) / bare Apollo (a): ${toApollo.toFixed(2)} (≥ 0.8: ${toApollo >= 0.8 ? "met" : "not met"}); ` +
          `CPU ${Math.round(a.cpuUs)} → ${Math.round(c.cpuUs)} µs/req\n`,
      );
    }
    if (b && c) {
      const authCost = 1 - c.rps / b.rps;
      process.stdout.write(
        `authentication + shield (1 − c/b): ${(authCost * 100).toFixed(1)} % (≤ 15 %: ${authCost <= 0.15 ? "met" : "not met"}); ` +
          `CPU ${Math.round(b.cpuUs)} → ${Math.round(c.cpuUs)} µs/req\n`,
      );
    }
    if (d && e) {
      process.stdout.write(
        `runPolicy over GraphQL (d) / REST (e): ${(d.rps / e.rps).toFixed(2)}; CPU ${Math.round(d.cpuUs)} vs ${Math.round(e.cpuUs)} µs/req\n`,
      );
    }
    process.stdout.write(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}\n`,
    );
  } finally {
    for (const gateway of gateways.reverse()) await gateway.close();
    await bare.close();
    await drop();
  }
}

await main();

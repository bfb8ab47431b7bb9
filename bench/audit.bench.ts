/**
 * What auditing runs costs. Run with `npm run bench:audit`.
 *
 * Starts one gateway in this process (production settings, logging off) on a throw-away database, stores and
 * publishes one policy through GraphQL, then drives `runPolicy(baseId, data)` with autocannon (a separate
 * process, so it does not share the gateway's event loop), alternating two modes in one run:
 *   off) the execution audit sink answers at once and writes nothing;
 *   on)  every run is recorded as an EXECUTED event through ExecutionAuditBatcher, and its response is sent
 *        only after the event is committed.
 * Each mode runs three times, interleaved in alternating order; the best run counts. Prints both throughputs and the ratio on/off
 * (target ≥ 0.7), and checks that no event was lost: every audited run answered 2xx had its event committed,
 * the EXECUTED events stored equal the commits reported to callers, and the tenant's hash chain verifies.
 *
 * Settings: BENCH_DURATION_S (default 8), BENCH_CONNECTIONS (default 50). Database: DATABASE_URL when set,
 * else a throw-away database on the test Postgres (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres).
 */
import "reflect-metadata";
import { startGateway } from "../src/gateway.js";
import { createLogger } from "../src/logging.js";
import { verifyChain } from "../src/modules/audit/audit-verifier.js";
import { benchConfig, benchUser } from "./support/config.js";
import { benchDatabase } from "./support/database.js";
import { gql } from "./support/graphql.js";
import { drive, type LoadResult } from "./support/load.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_S = 2;
const ROUNDS = 3;
const TARGET_RATIO = 0.7;

const POLICY = `An **applicant** gets a loan
  if the __age__ of the **applicant** is at least 18
  and the __income__ of the **applicant** is greater than 1000.
`;
const DATA = { applicant: { age: 30, income: 2500 } };

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = benchConfig(databaseUrl);
  const gateway = await startGateway(config, createLogger("silent"));
  try {
    const { prisma } = gateway.database;
    const { tenantId, token } = await benchUser(gateway, config, "ADMIN");
    const headers = { authorization: `Bearer ${token}` };

    const draft = (
      await gql(gateway.url, token, `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`, {
        input: { name: "Loan", content: POLICY },
      })
    ).createPolicy;
    await gql(gateway.url, token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: draft.id, description: "first" },
    });
    const baseId: string = draft.base.id;
    const body = JSON.stringify({
      query: "mutation($baseId: ID!, $data: JSONObject!) { runPolicy(baseId: $baseId, data: $data) { result error } }",
      variables: { baseId, data: DATA },
    });
    const probe = await fetch(`${gateway.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const probeText = await probe.text();
    if (probe.status !== 200 || !probeText.includes('"result":true')) throw new Error(`runPolicy answered ${probe.status} ${probeText}`);

    // The execution service holds the batcher itself; an own `record` property shadows the batcher's method:
    // in "off" mode it answers at once, in "on" mode it records through the batcher and counts what committed.
    const batcher = gateway.services.executionAudit;
    const record = batcher.record.bind(batcher);
    let auditOn = true;
    let committed = 1; // the probe, recorded before the shadow was installed
    Object.defineProperty(batcher, "record", {
      configurable: true,
      value: async (...args: Parameters<typeof record>) => {
        if (!auditOn) return;
        await record(...args);
        committed += 1;
      },
    });
    const executedEvents = () => prisma.auditEvent.count({ where: { tenantId, action: "EXECUTED" } });
    const settle = async () => {
      // Runs still in flight when autocannon stops finish on the server; wait until they have.
      for (let last = -1; last !== committed; ) {
        last = committed;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    const best = new Map<string, LoadResult>();
    let auditedOk = 1; // the probe
    const transactionsBefore = batcher.stats.transactions;
    const eventsBefore = batcher.stats.events;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of round % 2 ? (["off", "on"] as const) : (["on", "off"] as const)) {
        auditOn = mode === "on";
        const warm = await drive({ url: `${gateway.url}/graphql`, body, headers, connections: CONNECTIONS, seconds: WARMUP_S });
        const cpuBefore = process.cpuUsage();
        const result = await drive({ url: `${gateway.url}/graphql`, body, headers, connections: CONNECTIONS, seconds: DURATION_S });
        await settle();
        const cpu = process.cpuUsage(cpuBefore);
        result.cpuUs = (cpu.user + cpu.system) / Math.max(1, result.ok);
        for (const r of [warm, result]) {
          if (r.errors || r.non2xx) throw new Error(`audit ${mode}: ${r.errors} errors, ${r.non2xx} non-2xx responses`);
          if (mode === "on") auditedOk += r.ok;
        }
        process.stderr.write(
          `round ${round} audit ${mode}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
            `gateway CPU ${result.cpuUs.toFixed(0)} µs/request\n`,
        );
        const previous = best.get(mode);
        if (!previous || result.rps > previous.rps) best.set(mode, result);
      }
    }
    const transactions = batcher.stats.transactions - transactionsBefore;
    const batchedEvents = batcher.stats.events - eventsBefore;
    const stored = await executedEvents();
    const verifyStarted = performance.now();
    const chain = await verifyChain(gateway.services.stores.audit, tenantId);
    const verifyMs = performance.now() - verifyStarted;
    // Every answered run was recorded (its response waited for the commit), and every commit reported to a
    // caller is stored.
    const noneLost = stored === committed && committed >= auditedOk;

    const off = best.get("off")!;
    const on = best.get("on")!;
    process.stdout.write(`\nrunPolicy on one stored policy, ${CONNECTIONS} connections, ${DURATION_S} s per run, best of ${ROUNDS}\n`);
    console.table(
      [
        ["audit off", off],
        ["audit on", on],
      ].map(([name, r]) => ({
        mode: name,
        "req/s": Math.round((r as LoadResult).rps),
        "p50 ms": (r as LoadResult).p50,
        "p99 ms": (r as LoadResult).p99,
        "gateway CPU µs/req": Math.round((r as LoadResult).cpuUs),
      })),
    );
    const ratio = on.rps / off.rps;
    process.stdout.write(
      `throughput ratio on/off ${ratio.toFixed(3)} (target ≥ ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? "met" : "not met"})\n` +
        `audited runs answered 2xx: ${auditedOk}; record calls committed: ${committed}; EXECUTED events stored: ${stored} ` +
        `(${noneLost ? "none lost" : "MISMATCH"}); ` +
        `${batchedEvents} events in ${transactions} transactions (${(batchedEvents / Math.max(1, transactions)).toFixed(1)} per transaction); ` +
        `chain ${chain.valid ? `valid over ${chain.checkedEvents} events` : `BROKEN at ${chain.firstBrokenSequence}: ${chain.reason}`} ` +
        `(verified in ${verifyMs.toFixed(0)} ms)\n`,
    );
    if (!noneLost || !chain.valid) process.exitCode = 1;
  } finally {
    await gateway.close();
    await drop();
  }
}

await main();

/**
 * What one audit append costs Postgres, without HTTP, evaluation or a load generator in the way. Run with
 * `npm run bench:audit-append`.
 *
 * On a throw-away migrated database (or DATABASE_URL), one tenant appends batches of executed events the way the
 * execution-event batcher does in its steady state (`appendAfterHead`: one statement after the head it left, a
 * transaction of its own), one batch at a time, for each batch size in turn, interleaved over BENCH_ROUNDS rounds.
 * Prints, per batch size (medians of the rounds): batches per second, the statement's latency and the Postgres CPU
 * of the connection serving it, per batch and per event. The durable run path pays this for every run (issue #15);
 * the table's indexes and constraints (prisma/schema.prisma, AuditEvent) decide it. To compare two schemas, run it
 * in both checkouts: the figures of one machine at one time compare, absolute ones do not travel.
 *
 * Settings: BENCH_DURATION_S (seconds per batch size and round, default 4), BENCH_ROUNDS (default 3),
 * BENCH_BATCH_SIZES (default "1,10,25": 10 is a batch at 10 connections, 25 at 50).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { connectPostgres } from "../src/database/postgres.js";
import { migratePostgres } from "../src/database/open.js";
import type { TenantActor } from "../src/identity/actor.js";
import { type AttributedAuditEvent, appendAfterHead, readChainHead } from "../src/modules/audit/audit-recorder.js";
import { cpuBetween, PostgresCpu } from "./support/cpu.js";
import { benchDatabase } from "./support/database.js";
import { median } from "./support/median.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH_SIZES = (process.env.BENCH_BATCH_SIZES ?? "1,10,25").split(",").map(Number);

async function main(): Promise<void> {
  const { url, drop } = await benchDatabase();
  await migratePostgres(url);
  const tenantId = randomUUID();
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'audit append benchmark')", [tenantId, `bench-${tenantId.slice(0, 8)}`]);
  await setup.end();
  // One connection, as the batcher's appends of one tenant take turns on its chain head anyway.
  const database = connectPostgres({ url, poolSize: 1, poolWaitMs: 10_000 });
  const postgres = await PostgresCpu.open(url);
  // An executed event as a run through an API key records it (src/modules/execution/execution.service.ts).
  const actor: TenantActor = { kind: "apiKey", tenantId, apiKeyId: randomUUID(), scopes: ["VIEW"] };
  const event: AttributedAuditEvent = {
    actor,
    event: {
      action: "EXECUTED",
      resourceKind: "POLICY",
      baseId: randomUUID(),
      recordId: randomUUID(),
      version: 3,
      detail: { by: "base", result: true, error: null },
    },
  };
  try {
    let head = await readChainHead(database, tenantId);
    const measured = new Map<number, { perSecond: number; latencyMs: number; cpuPerBatch: number }[]>(BATCH_SIZES.map((size) => [size, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const size of round % 2 === 1 ? BATCH_SIZES : [...BATCH_SIZES].reverse()) {
        const batch = Array.from({ length: size }, () => event);
        const before = await postgres.snapshot();
        const started = process.hrtime.bigint();
        const until = started + BigInt(DURATION_S * 1e9);
        let batches = 0;
        while (process.hrtime.bigint() < until) {
          const next = await appendAfterHead(database, tenantId, head, batch);
          if (!next) throw new Error("the chain head moved: nothing else may append to this tenant");
          head = next;
          batches += 1;
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = cpuBetween(before, await postgres.snapshot());
        measured.get(size)!.push({ perSecond: batches / seconds, latencyMs: (seconds * 1000) / batches, cpuPerBatch: cpu / batches });
        process.stderr.write(
          `round ${round}, ${size} events per batch: ${(batches / seconds).toFixed(0)} batches/s, Postgres ${(cpu / batches).toFixed(0)} µs per batch\n`,
        );
      }
    }
    console.table(
      BATCH_SIZES.map((size) => {
        const runs = measured.get(size)!;
        const cpuPerBatch = median(runs.map((r) => r.cpuPerBatch));
        return {
          "events per batch": size,
          "batches/s": Math.round(median(runs.map((r) => r.perSecond))),
          "latency ms": Number(median(runs.map((r) => r.latencyMs)).toFixed(3)),
          "Postgres µs/batch": Math.round(cpuPerBatch),
          "Postgres µs/event": Math.round(cpuPerBatch / size),
        };
      }),
    );
  } finally {
    await postgres.close();
    await database.close();
    await drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

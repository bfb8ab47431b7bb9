/**
 * What recording a run's input costs, without the noise of a load test (issue #18 point 2): `npx tsx bench/recording.bench.ts`.
 *
 * Starts a gateway in this process on a fresh database with the driving-test policy on a base that records its
 * inputs (10,000 kept, one path redacted, as in `bench:run`), then tells the input recorder of RUNS runs at
 * RATE runs per second (in slices every 10 ms, so its batches are the size they are under that load) and writes
 * them. Rounds alternate with control rounds that do everything the same except telling the recorder; the
 * difference of CPU between the two is recording's: of this process and of the Postgres backends serving the
 * database (the WAL writer, checkpointer and autovacuum are not counted). Medians of BENCH_ROUNDS (default 5)
 * pairs. Compare with a run's whole cost in `bench:run` (about 300 µs of gateway and Postgres CPU at 50
 * connections on the quiet machine).
 */
import "reflect-metadata";
import os from "node:os";
import type { TenantActor } from "../src/identity/actor.js";
import { startGateway } from "../src/gateway.js";
import { createLogger } from "../src/logging.js";
import type { ObservedRun } from "../src/modules/execution/run-observer.js";
import { DRIVING_TEST_POLICY, drivingTestData } from "../test/support/driving-test.js";
import { benchConfig } from "./support/config.js";
import { cpuBetween, PostgresCpu } from "./support/cpu.js";
import { benchDatabase } from "./support/database.js";
import { setUpDrivingTest } from "./support/driving-test-setup.js";
import { median } from "./support/median.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 30_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const postgres = await PostgresCpu.open(databaseUrl);
  const config = benchConfig(databaseUrl);
  const gateway = await startGateway(config, createLogger("silent"));
  try {
    const tenant = await setUpDrivingTest(gateway, config);
    const baseId = await tenant.publish("driving test, recorded", DRIVING_TEST_POLICY);
    const version = await gateway.database.prisma.version.findFirstOrThrow({ where: { baseId } });
    await gateway.database.prisma.baseRecording.create({
      data: { baseId, tenantId: tenant.tenantId, enabled: true, retentionDays: 7, maxInputs: 10_000, redactPaths: ["drivingTest.person.dateOfBirth"] },
    });
    const recorder = gateway.services.inputRecorder;
    const body = JSON.stringify({ data: drivingTestData(new Date()) });
    const actor = { tenantId: tenant.tenantId } as TenantActor;
    // One round: RUNS runs whose data is parsed from the body as the REST route does, told to the recorder or not.
    const round = async (record: boolean): Promise<{ gateway: number; postgres: number }> => {
      const perSlice = Math.max(1, Math.round(RATE / 100));
      const [cpu0, postgres0] = [process.cpuUsage(), await postgres.snapshot()];
      for (let done = 0; done < RUNS; done += perSlice) {
        for (let i = 0; i < perSlice; i++) {
          const { data } = JSON.parse(body) as { data: unknown };
          const run: ObservedRun = {
            actor,
            tenantId: tenant.tenantId,
            baseId,
            recordId: version.id,
            kind: "POLICY",
            data,
            now: new Date(),
            result: true,
            error: null,
            batch: false,
          };
          if (record) recorder.observe(run);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await recorder.flush();
      const cpu = process.cpuUsage(cpu0);
      return { gateway: (cpu.user + cpu.system) / RUNS, postgres: cpuBetween(postgres0, await postgres.snapshot()) / RUNS };
    };
    process.stdout.write(
      `load average (1 / 5 / 15 min) before: ${os
        .loadavg()
        .map((v) => v.toFixed(1))
        .join(" / ")}\n`,
    );
    await round(true); // warm-up: the table fills to its maximum, so every later round trims too
    const added = { gateway: [] as number[], postgres: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      const [first, second] = i % 2 === 0 ? [true, false] : [false, true];
      const a = await round(first);
      const b = await round(second);
      const [recorded, control] = first ? [a, b] : [b, a];
      added.gateway.push(recorded.gateway - control.gateway);
      added.postgres.push(recorded.postgres - control.postgres);
      process.stderr.write(
        `round ${i + 1}: recording adds ${(recorded.gateway - control.gateway).toFixed(1)} µs gateway CPU, ${(recorded.postgres - control.postgres).toFixed(1)} µs Postgres CPU per run\n`,
      );
    }
    const chunks = await gateway.database.prisma.recordedInputChunk.aggregate({ where: { baseId }, _count: true, _sum: { inputCount: true } });
    process.stdout.write(
      `recording ${RUNS} runs at ${RATE}/s (${ROUNDS} rounds against control rounds): adds ${median(added.gateway).toFixed(1)} µs gateway CPU ` +
        `(rounds ${added.gateway.map((v) => v.toFixed(1)).join(" / ")}) and ${median(added.postgres).toFixed(1)} µs Postgres CPU ` +
        `(rounds ${added.postgres.map((v) => v.toFixed(1)).join(" / ")}) per run; the base holds ${chunks._sum.inputCount} inputs in ${chunks._count} chunks; ` +
        `load average after: ${os
          .loadavg()
          .map((v) => v.toFixed(1))
          .join(" / ")}\n`,
    );
  } finally {
    await gateway.close();
    await postgres.close();
    await drop();
  }
}

await main();

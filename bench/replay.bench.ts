/**
 * Replay (issue #18 point 3): `previewImpact` of a candidate against 10,000 recorded inputs of a base running
 * the driving-test policy of product §14 (docs/language.md#a-complete-example). Run with `npm run bench:replay`.
 *
 * Starts a gateway in this process on a fresh database, publishes the policy, stores 10,000 recorded inputs
 * (varied test dates and faults, as recorded traffic would be) and a candidate draft that shortens the
 * practical-test period, then times `previewImpact(sample: {last: 10000}, first: 100)` over GraphQL, end to end. Target: under
 * 2 s. Figures vary on shared machines; BENCH_ROUNDS (default 3) rounds, the median counts.
 */
import "reflect-metadata";
import { startGateway } from "../src/gateway.js";
import { createLogger } from "../src/logging.js";
import { DRIVING_TEST_POLICY, drivingTestData } from "../test/support/driving-test.js";
import { benchConfig, benchUser } from "./support/config.js";
import { benchDatabase } from "./support/database.js";
import { gql } from "./support/graphql.js";

const INPUTS = 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const { url: databaseUrl, drop } = await benchDatabase();
  const config = benchConfig(databaseUrl);
  const gateway = await startGateway(config, createLogger("silent"));
  try {
    const { tenantId, token } = await benchUser(gateway, config, "ADMIN");
    const created = await gql(gateway.url, token, `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`, {
      input: { name: "driving test", content: DRIVING_TEST_POLICY },
    });
    const version = await gql(gateway.url, token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: created.createPolicy.id, description: "benchmark" },
    });
    const baseId: string = created.createPolicy.base.id;
    await gql(gateway.url, token, `mutation($input: RecordingSettingsInput!) { configureRecording(input: $input) { enabled } }`, {
      input: { baseId, enabled: true, maxInputs: INPUTS },
    });
    const today = new Date();
    const inputs = Array.from({ length: INPUTS }, (_, i) => {
      const data = drivingTestData(new Date(today.getTime() - (i % 400) * 86_400_000), i % 3 === 0) as Record<string, Record<string, unknown>>;
      return { tenantId, baseId, recordId: version.publishDraft.id, json: JSON.stringify(data) };
    });
    for (let i = 0; i < INPUTS; i += 1_000) await gateway.services.stores.recordings.append(inputs.slice(i, i + 1_000));
    const draft = await gql(gateway.url, token, `mutation($id: ID!) { createDraftFromVersion(versionId: $id) { id } }`, { id: version.publishDraft.id });
    const candidate = DRIVING_TEST_POLICY.replace("within 30 days", "within 20 days");
    if (candidate === DRIVING_TEST_POLICY) throw new Error("the candidate must differ from the live policy");
    await gql(gateway.url, token, `mutation($input: UpdateDraftInput!) { updateDraft(input: $input) { id } }`, {
      input: { draftId: draft.createDraftFromVersion.id, expectedRevision: 1, content: candidate },
    });

    const query = `query($id: ID!) { previewImpact(candidateRecordId: $id, sample: { last: ${INPUTS} }, first: 100) {
      counts { total same trueToFalse falseToTrue errors } inputs { edges { node { recordedInputId changed } } } } }`;
    const times: number[] = [];
    let counts: unknown = null;
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      const result = await gql(gateway.url, token, query, { id: draft.createDraftFromVersion.id });
      times.push(performance.now() - started);
      counts = result.previewImpact.counts;
      if (result.previewImpact.counts.total !== INPUTS) throw new Error(`replayed ${result.previewImpact.counts.total}, not ${INPUTS}`);
    }
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    console.table(times.map((ms, round) => ({ round: round + 1, ms: Math.round(ms) })));
    console.info(`previewImpact over ${INPUTS} recorded inputs: median ${Math.round(median)} ms (target < 2000 ms); counts ${JSON.stringify(counts)}`);
  } finally {
    await gateway.close();
    await drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

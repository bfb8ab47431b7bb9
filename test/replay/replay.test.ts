import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

/** Issue #18 points 2 and 3: opt-in input recording per base, and replaying a candidate against it. */

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let as: GraphQLClient["as"];

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], publisher: ["PUBLISHER"], editor: ["EDITOR"], viewer: ["VIEWER"] });
  other = await createTenant(gateway.database.prisma, { stranger: ["ADMIN"] });
  as = graphqlClient(gateway, tenant, other).as;
});
afterAll(() => gateway?.stop());

const CONFIGURE = `mutation($input: RecordingSettingsInput!) { configureRecording(input: $input) { baseId enabled retentionDays maxInputs redactPaths } }`;
const SETTINGS = `query($baseId: ID!) { recordingSettings(baseId: $baseId) { enabled retentionDays maxInputs redactPaths } }`;
const PREVIEW = `query($id: ID!, $last: Int!, $first: Int, $after: String) { previewImpact(candidateRecordId: $id, sample: { last: $last }, first: $first, after: $after) {
  candidateRecordId liveRecordId counts { total same trueToFalse falseToTrue errors }
  inputs { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { recordedInputId data liveResult candidateResult candidateError changed } } } } }`;

async function publishedPolicy(content = op.AGE_POLICY) {
  const draft = (await as("publisher")(op.CREATE_POLICY, { input: { name: `r-${Math.random()}`, content } })).data.createPolicy;
  const version = (await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } })).data.publishDraft;
  return { baseId: draft.base.id as string, versionId: version.id as string };
}

/** Every input the base holds, oldest first (the store's read, unbounded). */
const recorded = async (baseId: string) => (await gateway.services.stores.recordings.latest(baseId, 1_000_000, 365)).reverse();
const ageOf = (row: { data: unknown }) => (row.data as { Person: { age: number } }).Person.age;
const run = (baseId: string, age: number, ssn = "123") => as("viewer")(op.RUN_POLICY, { baseId, data: { Person: { age, ssn } } });

describe("recording run inputs", () => {
  it("records nothing by default", async () => {
    const { baseId } = await publishedPolicy();
    await run(baseId, 30);
    await gateway.services.inputRecorder.flush();
    expect(await recorded(baseId)).toEqual([]);
    expect((await as("publisher")(SETTINGS, { baseId })).data.recordingSettings).toEqual({
      enabled: false,
      retentionDays: 7,
      maxInputs: 10000,
      redactPaths: [],
    });
  });

  it("lets admins turn it on (audited), records redacted inputs of every run and keeps at most maxInputs", async () => {
    const { baseId, versionId } = await publishedPolicy();
    expect(errorCodes(await as("publisher")(CONFIGURE, { input: { baseId, enabled: true } }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await as("stranger")(CONFIGURE, { input: { baseId, enabled: true } }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("admin")(CONFIGURE, { input: { baseId, enabled: true, redactPaths: ["not a path"] } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("admin")(CONFIGURE, { input: { baseId, enabled: true, maxInputs: 0 } }))).toEqual(["BAD_USER_INPUT"]);
    const configured = await as("admin")(CONFIGURE, { input: { baseId, enabled: true, retentionDays: 3, maxInputs: 3, redactPaths: ["Person.ssn"] } });
    expect(configured.data.configureRecording).toEqual({ baseId, enabled: true, retentionDays: 3, maxInputs: 3, redactPaths: ["Person.ssn"] });
    const event = await gateway.database.prisma.auditEvent.findFirst({ where: { baseId, action: "RECORDING_CONFIGURED" } });
    expect(event?.detail).toEqual({ enabled: true, retentionDays: 3, maxInputs: 3, redactPaths: ["Person.ssn"] });

    for (const age of [10, 20, 30, 40, 50]) {
      expect((await run(baseId, age)).errors).toBeUndefined();
      await gateway.services.inputRecorder.flush(); // one chunk per run
    }
    // The process trims after appending a tenth of the maximum (here: every chunk): chunks wholly beyond the newest 3 go.
    expect((await recorded(baseId)).map((row) => row.data)).toEqual([30, 40, 50].map((age) => ({ Person: { age, ssn: "[REDACTED]" } })));
    await gateway.services.stores.recordings.prune(baseId, 3);
    expect((await recorded(baseId)).map(ageOf)).toEqual([30, 40, 50]);

    await as("admin")(CONFIGURE, { input: { baseId, enabled: false, maxInputs: 3 } });
    await run(baseId, 60);
    await gateway.services.inputRecorder.flush();
    expect(await recorded(baseId)).toHaveLength(3);

    // A base may hold more than its maximum until its next trim (here: a chunk no process trimmed); reads stop at it.
    await gateway.services.stores.recordings.append(
      [70, 80, 90].map((age) => ({ tenantId: tenant.id, baseId, recordId: versionId, json: JSON.stringify({ Person: { age } }) })),
    );
    expect(await recorded(baseId)).toHaveLength(6);
    const preview = (await as("publisher")(PREVIEW, { id: versionId, last: 10 })).data.previewImpact;
    expect(preview.inputs.edges.map((e: { node: { data: { Person: { age: number } } } }) => e.node.data.Person.age)).toEqual([90, 80, 70]);
  });

  it("trims whole chunks beyond a base's newest maxInputs, looking only above the cutoff an earlier trim answered", async () => {
    const { baseId, versionId } = await publishedPolicy();
    const { recordings } = gateway.services.stores;
    const append = (ages: number[]) =>
      recordings.append(ages.map((age) => ({ tenantId: tenant.id, baseId, recordId: versionId, json: JSON.stringify({ Person: { age } }) })));
    const ages = async () => (await recorded(baseId)).map(ageOf);
    const chunks = async () =>
      (await gateway.database.prisma.recordedInputChunk.findMany({ where: { baseId }, orderBy: { id: "asc" } })).map((chunk) => chunk.id.toString());
    await append([1, 2, 3]);
    await append([4, 5]);
    const [first, second] = await chunks();

    expect(await recordings.prune(baseId, 2)).toBe(first); // the cutoff: the newest chunk wholly beyond the maximum
    expect(await ages()).toEqual([4, 5]);
    expect(await recordings.prune(baseId, 2, first)).toBeNull(); // nothing beyond the maximum
    await append([6]);
    // The chunk of 4 and 5 still holds the second newest input: it stays, and reads stop at the maximum.
    expect(await recordings.prune(baseId, 2, first)).toBeNull();
    expect(await ages()).toEqual([4, 5, 6]);
    expect((await recordings.latest(baseId, 2, 7)).map(ageOf)).toEqual([6, 5]);
    await append([7]);
    expect(await recordings.prune(baseId, 2, first)).toBe(second);
    expect(await ages()).toEqual([6, 7]);
    // Chunks at or below `above` are not looked at: they went in an earlier trim (this one is made up to show it).
    await append([8]);
    const seven = (await chunks()).at(-2)!;
    expect(await recordings.prune(baseId, 1, seven)).toBeNull();
    expect(await ages()).toEqual([6, 7, 8]);
    expect(await recordings.prune(baseId, 1, second)).toBe(seven);
    expect(await ages()).toEqual([8]);
  });

  it("writes one chunk per base and record of a batch; an input's ID orders it within its chunk", async () => {
    const { baseId, versionId } = await publishedPolicy();
    const draft = (await as("publisher")(op.DRAFT_FROM_VERSION, { versionId })).data.createDraftFromVersion;
    const input = (recordId: string, age: number) => ({ tenantId: tenant.id, baseId, recordId, json: JSON.stringify({ Person: { age } }) });
    await gateway.services.stores.recordings.append([input(versionId, 1), input(draft.id, 2), input(versionId, 3)]);
    const stored = await gateway.database.prisma.recordedInputChunk.findMany({ where: { baseId }, orderBy: { id: "asc" } });
    expect(stored.map((chunk) => [chunk.recordId, chunk.inputCount, chunk.inputs])).toEqual([
      [versionId, 2, [{ Person: { age: 1 } }, { Person: { age: 3 } }]],
      [draft.id, 1, [{ Person: { age: 2 } }]],
    ]);
    const rows = await recorded(baseId);
    expect(rows.map((row) => [row.recordId, ageOf(row)])).toEqual([
      [versionId, 1],
      [versionId, 3],
      [draft.id, 2],
    ]);
    const ids = rows.map((row) => BigInt(row.id));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
    expect(ids[1]! - ids[0]!).toBe(1n);
  });
});

describe("previewImpact", () => {
  it("replays a candidate against the newest recorded inputs: per input both answers, counts, pages, and nothing recorded", async () => {
    const { baseId, versionId } = await publishedPolicy(op.AGE_POLICY); // age > 18
    await as("admin")(CONFIGURE, { input: { baseId, enabled: true } });
    for (const age of [10, 19, 20, 30]) await run(baseId, age);
    await gateway.services.inputRecorder.flush();
    const draft = (await as("publisher")(op.DRAFT_FROM_VERSION, { versionId })).data.createDraftFromVersion;
    await as("publisher")(op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: draft.revision, content: op.ADULT_POLICY } }); // age >= 21
    const executedBefore = await gateway.database.prisma.auditEvent.count({ where: { tenantId: tenant.id } });

    const first = (await as("publisher")(PREVIEW, { id: draft.id, last: 3, first: 2 })).data.previewImpact;
    expect(first).toMatchObject({
      candidateRecordId: draft.id,
      liveRecordId: versionId,
      counts: { total: 3, same: 1, trueToFalse: 2, falseToTrue: 0, errors: 0 },
    });
    expect(first.inputs.totalCount).toBe(3);
    expect(first.inputs.edges.map((e: { node: unknown }) => e.node)).toMatchObject([
      { data: { Person: { age: 30 } }, liveResult: true, candidateResult: true, changed: false },
      { data: { Person: { age: 20 } }, liveResult: true, candidateResult: false, changed: true },
    ]);
    expect(first.inputs.pageInfo.hasNextPage).toBe(true);
    const second = (await as("publisher")(PREVIEW, { id: draft.id, last: 3, first: 2, after: first.inputs.pageInfo.endCursor })).data.previewImpact;
    expect(second.inputs.edges.map((e: { node: { data: unknown } }) => e.node.data)).toEqual([{ Person: { age: 19, ssn: "123" } }]);
    expect(second.inputs.pageInfo.hasNextPage).toBe(false);
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: tenant.id } })).toBe(executedBefore);

    expect(errorCodes(await as("editor")(PREVIEW, { id: draft.id, last: 3 }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await as("stranger")(PREVIEW, { id: draft.id, last: 3 }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("publisher")(PREVIEW, { id: draft.id, last: 0 }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("publisher")(PREVIEW, { id: draft.id, last: 3, after: "x" }))).toEqual(["BAD_USER_INPUT"]);

    // Deleting the base hides its recorded inputs.
    await as("admin")(op.DELETE_BASE, { id: baseId });
    expect(errorCodes(await as("publisher")(PREVIEW, { id: draft.id, last: 3 }))).toEqual(["NOT_FOUND"]);
  });
});

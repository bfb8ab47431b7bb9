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

const recorded = (baseId: string) => gateway.database.prisma.recordedInput.findMany({ where: { baseId }, orderBy: { id: "asc" } });
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
    const { baseId } = await publishedPolicy();
    expect(errorCodes(await as("publisher")(CONFIGURE, { input: { baseId, enabled: true } }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await as("stranger")(CONFIGURE, { input: { baseId, enabled: true } }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("admin")(CONFIGURE, { input: { baseId, enabled: true, redactPaths: ["not a path"] } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("admin")(CONFIGURE, { input: { baseId, enabled: true, maxInputs: 0 } }))).toEqual(["BAD_USER_INPUT"]);
    const configured = await as("admin")(CONFIGURE, { input: { baseId, enabled: true, retentionDays: 3, maxInputs: 3, redactPaths: ["Person.ssn"] } });
    expect(configured.data.configureRecording).toEqual({ baseId, enabled: true, retentionDays: 3, maxInputs: 3, redactPaths: ["Person.ssn"] });
    const event = await gateway.database.prisma.auditEvent.findFirst({ where: { baseId, action: "RECORDING_CONFIGURED" } });
    expect(event?.detail).toEqual({ enabled: true, retentionDays: 3, maxInputs: 3, redactPaths: ["Person.ssn"] });

    for (const age of [10, 20, 30, 40, 50]) expect((await run(baseId, age)).errors).toBeUndefined();
    await gateway.services.inputRecorder.flush();
    const kept = await recorded(baseId);
    expect(kept.map((row) => row.data)).toEqual([10, 20, 30, 40, 50].slice(-kept.length).map((age) => ({ Person: { age, ssn: "[REDACTED]" } })));
    // Trimming runs at most every 10 s per process, so the first batch may exceed the maximum; prune explicitly.
    await gateway.services.stores.recordings.prune(baseId, 3);
    expect((await recorded(baseId)).map((row) => (row.data as { Person: { age: number } }).Person.age)).toEqual([30, 40, 50]);

    await as("admin")(CONFIGURE, { input: { baseId, enabled: false } });
    await run(baseId, 60);
    await gateway.services.inputRecorder.flush();
    expect(await recorded(baseId)).toHaveLength(3);
  });

  it("trims a base to its newest maxInputs, looking only above the cutoff an earlier trim answered", async () => {
    const { baseId, versionId } = await publishedPolicy();
    const { recordings } = gateway.services.stores;
    const append = (ages: number[]) =>
      recordings.append(ages.map((age) => ({ tenantId: tenant.id, baseId, recordId: versionId, json: JSON.stringify({ Person: { age } }) })));
    const ages = async () => (await recorded(baseId)).map((row) => (row.data as { Person: { age: number } }).Person.age);
    await append([1, 2, 3, 4, 5]);
    const ids = (await recorded(baseId)).map((row) => row.id.toString());

    expect(await recordings.prune(baseId, 2)).toBe(ids[2]); // the cutoff: the newest input beyond the maximum
    expect(await ages()).toEqual([4, 5]);
    expect(await recordings.prune(baseId, 2, ids[2])).toBeNull(); // nothing beyond the maximum
    await append([6, 7]);
    expect(await recordings.prune(baseId, 2, ids[2])).toBe(ids[4]);
    expect(await ages()).toEqual([6, 7]);
    // Inputs at or below `above` are not looked at: they went in an earlier trim (this one is made up to show it).
    await append([8]);
    const seven = (await recorded(baseId)).at(-2)!.id.toString();
    expect(await recordings.prune(baseId, 1, seven)).toBe(seven);
    expect(await ages()).toEqual([6, 7, 8]);
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

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { type Document, errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import { CREDIT_POLICY, loanFlow } from "../support/flows.js";
import * as op from "../support/operations.js";

/** Product §12 / issue #18 points 1 and 5: stored tests gate publishing; tests and GraphQL runs may pin `now`. */

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let as: GraphQLClient["as"];

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], publisher: ["PUBLISHER"], viewer: ["VIEWER"] });
  other = await createTenant(gateway.database.prisma, { stranger: ["ADMIN"] });
  as = graphqlClient(gateway, tenant, other).as;
});
afterAll(() => gateway?.stop());

const PUBLISH_WITH_OVERRIDE = `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id versionNumber } }`;
const TESTS_WITH_NOW = `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } tests { name now } } }`;
const RUN_AT = `mutation($baseId: ID!, $data: JSONObject!, $now: DateTimeISO) { runPolicy(baseId: $baseId, data: $data, now: $now) { result } }`;
const RUN_RECORD_AT = `mutation($recordId: ID!, $data: JSONObject!, $now: DateTimeISO) { runPolicyRecord(recordId: $recordId, data: $data, now: $now) { result } }`;
const RULE_AT = `mutation($rule: String!, $data: JSONObject!, $now: DateTimeISO) { runRule(rule: $rule, data: $data, now: $now) { result } }`;
const BATCH_AT = `mutation($baseId: ID!, $inputs: [JSON!]!, $now: DateTimeISO) { runPolicyBatch(baseId: $baseId, inputs: $inputs, now: $now) { result } }`;
const FLOW_AT = `mutation($baseId: ID!, $data: JSONObject!, $now: DateTimeISO) { runFlow(baseId: $baseId, data: $data, now: $now) { result } }`;
const TEST_FLOW_AT = `mutation($definition: String!, $data: JSONObject!, $now: DateTimeISO) { testFlow(definition: $definition, data: $data, now: $now) { result } }`;
const EXPIRY_POLICY = "A **License** is expired if __expiry__ of **License** is in the past.";

async function draftWith(content: string, tests: unknown[], kind: "POLICY" | "FLOW" = "POLICY") {
  const response = await as("publisher")((kind === "POLICY" ? op.CREATE_POLICY : op.CREATE_FLOW) as Document, {
    input: { name: `g-${Math.random()}`, content, tests },
  });
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  const draft = kind === "POLICY" ? response.data.createPolicy : response.data.createFlow;
  return { draftId: draft.id as string, baseId: draft.base.id as string };
}

async function publish(draftId: string, who = "publisher") {
  const response = await as(who)(op.PUBLISH, { input: { draftId, description: "v" } });
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data.publishDraft as { id: string };
}

const publishedEvent = (baseId: string) => gateway.database.prisma.auditEvent.findFirst({ where: { baseId, action: "PUBLISHED" } });
const executedEvents = (baseId: string) => gateway.database.prisma.auditEvent.count({ where: { baseId, action: "EXECUTED" } });

describe("the stored-test gate on publishing", () => {
  const failing = [
    { name: "adult", data: { Person: { age: 30 } }, expected: true },
    { name: "child", data: { Person: { age: 3 } }, expected: true },
    { name: "no age", data: {}, expected: false },
  ];

  it("refuses a draft whose tests fail with CONFLICT listing each failing test, and publishes nothing", async () => {
    const { draftId, baseId } = await draftWith(op.AGE_POLICY, failing);
    const response = await as("publisher")(op.PUBLISH, { input: { draftId, description: "v" } });
    expect(errorCodes(response)).toEqual(["CONFLICT"]);
    const details = response.errors![0]!.extensions!.details as { failingTests: unknown };
    expect(details.failingTests).toEqual([{ name: "child", expected: true, actual: false, error: null }]);
    expect((await as("publisher")(op.RECORDS, { baseId })).data.records).toEqual([{ id: draftId, status: "DRAFT", versionNumber: null }]);
    // The gate's test run is not a run of the record: no executed event.
    expect(await executedEvents(baseId)).toBe(0);
  });

  it("lets an admin publish anyway with a reason, which the PUBLISHED event keeps with the failing tests' names", async () => {
    const { draftId, baseId } = await draftWith(op.AGE_POLICY, failing);
    const response = await as("admin")(PUBLISH_WITH_OVERRIDE, {
      input: { draftId, description: "v", override: { reason: "  child rule changes next week  " } },
    });
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    expect(response.data.publishDraft.versionNumber).toBe(1);
    const event = await publishedEvent(baseId);
    expect(event?.detail).toMatchObject({ tests: { passed: 2, failed: 1 }, override: { reason: "child rule changes next week", failingTests: ["child"] } });
  });

  it("refuses an override from a publisher (FORBIDDEN) and an empty reason (BAD_USER_INPUT), before any test runs", async () => {
    const { draftId } = await draftWith(op.AGE_POLICY, failing);
    expect(errorCodes(await as("publisher")(PUBLISH_WITH_OVERRIDE, { input: { draftId, description: "v", override: { reason: "trust me" } } }))).toEqual([
      "FORBIDDEN",
    ]);
    expect(errorCodes(await as("admin")(PUBLISH_WITH_OVERRIDE, { input: { draftId, description: "v", override: { reason: "   " } } }))).toEqual([
      "BAD_USER_INPUT",
    ]);
  });

  it("publishes a draft whose tests pass, counting them in the PUBLISHED event", async () => {
    const { draftId, baseId } = await draftWith(op.AGE_POLICY, [failing[0], failing[2]]);
    await publish(draftId);
    expect((await publishedEvent(baseId))?.detail).toMatchObject({ tests: { passed: 2, failed: 0 } });
    expect((await publishedEvent(baseId))?.detail).not.toHaveProperty("override");
  });

  it("still refuses an unparsable draft as not publishable rather than as failing tests", async () => {
    const { draftId } = await draftWith("A **Person** passes if.", failing);
    expect(errorCodes(await as("publisher")(op.PUBLISH, { input: { draftId, description: "v" } }))).toEqual(["BAD_USER_INPUT"]);
  });

  it("gates flows on their stored tests the same way", async () => {
    const age = await draftWith(op.AGE_POLICY, []);
    const credit = await draftWith(CREDIT_POLICY, []);
    await publish(age.draftId);
    await publish(credit.draftId);
    const flow = await draftWith(
      loanFlow(age.baseId, credit.baseId),
      [
        { name: "good", data: { Person: { age: 30, score: 700 } }, expected: true },
        { name: "wrong", data: { Person: { age: 10, score: 700 } }, expected: true },
      ],
      "FLOW",
    );
    const refused = await as("publisher")(op.PUBLISH, { input: { draftId: flow.draftId, description: "v" } });
    expect(errorCodes(refused)).toEqual(["CONFLICT"]);
    expect((refused.errors![0]!.extensions!.details as { failingTests: unknown }).failingTests).toEqual([
      { name: "wrong", expected: true, actual: false, error: null },
    ]);
    const overridden = await as("admin")(PUBLISH_WITH_OVERRIDE, { input: { draftId: flow.draftId, description: "v", override: { reason: "known" } } });
    expect(overridden.errors).toBeUndefined();
  });
});

describe("pinned evaluation time", () => {
  const licence = { License: { expiry: "2027-06-01" } };

  it("stores a test's `now` and gates on it, so a date-relative test is stable", async () => {
    const tests = [
      { name: "valid in 2026", data: licence, expected: false, now: "2026-01-01T00:00:00.000Z" },
      { name: "expired in 2030", data: licence, expected: true, now: "2030-01-01T00:00:00.000Z" },
    ];
    const created = await as("publisher")(TESTS_WITH_NOW, { input: { name: `t-${Math.random()}`, content: EXPIRY_POLICY, tests } });
    expect(created.errors, JSON.stringify(created.errors)).toBeUndefined();
    expect(created.data.createPolicy.tests).toEqual([
      { name: "valid in 2026", now: "2026-01-01T00:00:00.000Z" },
      { name: "expired in 2030", now: "2030-01-01T00:00:00.000Z" },
    ]);
    const report = (await as("viewer")(op.RUN_TESTS, { recordId: created.data.createPolicy.id })).data.runStoredTests;
    expect(report).toMatchObject({ passed: 2, failed: 0 });
    await publish(created.data.createPolicy.id);
  });

  it("refuses a test `now` that is not a date-time", async () => {
    const response = await as("publisher")(TESTS_WITH_NOW, {
      input: { name: "bad", content: EXPIRY_POLICY, tests: [{ name: "x", data: {}, expected: true, now: "next tuesday" }] },
    });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
  });

  it("runs policies, records, rules, batches and flows at the given `now`, else at the current time", async () => {
    const { draftId, baseId } = await draftWith(EXPIRY_POLICY, []);
    const at = (now: string | null) => ({ baseId, data: licence, now });
    expect((await as("viewer")(RUN_AT, at("2026-01-01T00:00:00Z"))).data.runPolicy.result).toBe(false);
    expect((await as("viewer")(RUN_AT, at("2030-01-01T00:00:00Z"))).data.runPolicy.result).toBe(true);
    expect((await as("viewer")(RUN_RECORD_AT, { recordId: draftId, data: licence, now: "2030-01-01T00:00:00Z" })).data.runPolicyRecord.result).toBe(true);
    expect((await as("viewer")(RULE_AT, { rule: EXPIRY_POLICY, data: licence, now: "2030-01-01T00:00:00Z" })).data.runRule.result).toBe(true);
    expect((await as("viewer")(BATCH_AT, { baseId, inputs: [licence], now: "2030-01-01T00:00:00Z" })).data.runPolicyBatch[0].result).toBe(true);
    // Without `now` the current time decides: the licence has not expired yet in 2026 (this suite's runs).
    const current = (await as("viewer")(RUN_AT, at(null))).data.runPolicy.result;
    expect(current).toBe(Date.now() > Date.parse("2027-06-01"));
    const executed = await gateway.database.prisma.auditEvent.findMany({ where: { baseId, action: "EXECUTED" }, orderBy: { sequence: "asc" } });
    expect(executed.map((event) => (event.detail as { now?: string }).now ?? null)).toEqual([
      "2026-01-01T00:00:00.000Z",
      "2030-01-01T00:00:00.000Z",
      "2030-01-01T00:00:00.000Z",
      "2030-01-01T00:00:00.000Z",
      null,
    ]);

    await publish(draftId);
    const flowText = `
flow:
  start:
    - id: start-1
      type: start
      policyId: ${baseId}
      onTrue:
        - { id: yes, type: return, returnValue: expired }
      onFalse:
        - { id: no, type: return, returnValue: valid }
`;
    const flow = await draftWith(flowText, [], "FLOW");
    expect((await as("viewer")(FLOW_AT, { baseId: flow.baseId, data: licence, now: "2030-01-01T00:00:00Z" })).data.runFlow.result).toBe("expired");
    expect((await as("viewer")(FLOW_AT, { baseId: flow.baseId, data: licence, now: "2026-01-01T00:00:00Z" })).data.runFlow.result).toBe("valid");
    expect((await as("viewer")(TEST_FLOW_AT, { definition: flowText, data: licence, now: "2030-01-01T00:00:00Z" })).data.testFlow.result).toBe("expired");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import type { StoredTestInput } from "../../operations/__generated__/graphql.js";
import { type Document, errorCodes, graphql, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import { CREDIT_POLICY, loanFlow } from "../support/flows.js";
import * as op from "../support/operations.js";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let as: GraphQLClient["as"];

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"], viewer: ["VIEWER"], auditor: ["AUDITOR"] });
  other = await createTenant(gateway.database.prisma, { stranger: ["ADMIN"] });
  as = graphqlClient(gateway, tenant, other).as;
});
afterAll(() => gateway?.stop());

async function policy(content: string, publishIt: boolean, tests: StoredTestInput[] = []) {
  const draft = (await as("publisher")(op.CREATE_POLICY, { input: { name: `p-${Math.random()}`, content, tests } })).data.createPolicy;
  if (!publishIt) return { baseId: draft.base.id as string, recordId: draft.id as string };
  const version = (await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "v" } })).data.publishDraft;
  return { baseId: draft.base.id as string, recordId: version.id as string };
}

const executedEvents = (baseId: string) => gateway.database.prisma.auditEvent.count({ where: { baseId, action: "EXECUTED" } });

describe("running policies", () => {
  it("runs the draft of a never-published base, then the latest version once published, saying which ran", async () => {
    const { baseId, recordId: draftId } = await policy(op.AGE_POLICY, false);
    const onDraft = (await as("viewer")(op.RUN_POLICY, { baseId, data: { Person: { age: 30 } } })).data.runPolicy;
    expect(onDraft).toMatchObject({
      result: true,
      error: null,
      rule: [op.AGE_POLICY],
      data: { Person: { age: 30 } },
      labels: null,
      record: { baseId, recordId: draftId, status: "DRAFT", versionNumber: null },
    });
    expect((onDraft.trace as any).execution[0].outcome.value).toBe("approved");
    for (const t of Object.values(onDraft.timings)) expect(t).toMatch(/^\d+$/);

    const version = (await as("publisher")(op.PUBLISH, { input: { draftId, description: "v1" } })).data.publishDraft;
    const onVersion = (await as("viewer")(op.RUN_POLICY, { baseId, data: { Person: { age: 10 } } })).data.runPolicy;
    expect(onVersion).toMatchObject({ result: false, record: { recordId: version.id, status: "PUBLISHED", versionNumber: 1 } });
    expect(await executedEvents(baseId)).toBe(2);
  });

  it("runs an exact record by its ID, draft or version", async () => {
    const { baseId, recordId: v1 } = await policy(op.AGE_POLICY, true);
    const draft = (await as("publisher")(op.DRAFT_FROM_VERSION, { versionId: v1 })).data.createDraftFromVersion;
    await as("publisher")(op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: 1, content: op.ADULT_POLICY } });
    const data = { Person: { age: 19 } };
    expect((await as("viewer")(op.RUN_RECORD, { recordId: v1, data })).data.runPolicyRecord).toMatchObject({
      result: true,
      record: { recordId: v1, versionNumber: 1 },
    });
    expect((await as("viewer")(op.RUN_RECORD, { recordId: draft.id, data })).data.runPolicyRecord).toMatchObject({
      result: false,
      rule: [op.ADULT_POLICY],
      record: { recordId: draft.id, status: "DRAFT" },
    });
    // By base, the published version still wins over the newer draft.
    expect((await as("viewer")(op.RUN_POLICY, { baseId, data })).data.runPolicy.record?.recordId).toBe(v1);
  });

  it("returns evaluation errors as results, not GraphQL errors", async () => {
    const { baseId } = await policy("A **Store** is profitable if __revenue__ of **Store** / __expenses__ of **Store** is greater than 1.5.", true);
    const run = await as("viewer")(op.RUN_POLICY, { baseId, data: { Store: { revenue: 100, expenses: 0 } } });
    expect(run.errors).toBeUndefined();
    expect(run.data.runPolicy).toMatchObject({ result: false, error: "Evaluation error: Division by zero" });
  });

  it("runs an unsaved rule, parse errors included, without auditing", async () => {
    const ok = (await as("viewer")(op.RUN_RULE, { rule: op.AGE_POLICY, data: { Person: { age: 25 } } })).data.runRule;
    expect(ok).toMatchObject({ result: true, record: null, rule: [op.AGE_POLICY] });
    const broken = (await as("viewer")(op.RUN_RULE, { rule: "A **user** passes if.", data: {} })).data.runRule;
    expect(broken).toMatchObject({ result: false, labels: null, rule: ["A **user** passes if."] });
    expect(broken.error).toMatch(/^Parse error: --> 1:\d+/);
    expect((broken.trace as any).execution[0].label).toBe("Parse Error");
  });

  it("runs a batch of inputs against one resolved record and audits it once", async () => {
    const { baseId } = await policy(op.AGE_POLICY, true);
    const inputs = [{ Person: { age: 30 } }, { Person: { age: 3 } }, { Person: {} }];
    const results = (await as("viewer")(op.RUN_BATCH, { baseId, inputs })).data.runPolicyBatch;
    expect(results.map((r: { result: boolean }) => r.result)).toEqual([true, false, false]);
    expect(results.every((r) => r.record?.versionNumber === 1)).toBe(true);
    expect(await executedEvents(baseId)).toBe(1);
    const bad = await as("viewer")(op.RUN_BATCH, { baseId, inputs: [{}, [1]] });
    expect(errorCodes(bad)).toEqual(["BAD_USER_INPUT"]);
    expect(bad.errors?.[0]?.message).toContain("inputs[1]");
  });

  it("runs a record's stored tests and reports each outcome", async () => {
    const tests = [
      { name: "adult", data: { Person: { age: 30 } }, expected: true },
      { name: "child", data: { Person: { age: 3 } }, expected: true },
    ];
    // A draft: publishing a record whose tests fail is refused (test/resources/publish-gate.test.ts).
    const { recordId } = await policy(op.AGE_POLICY, false, tests);
    const report = (await as("viewer")(op.RUN_TESTS, { recordId })).data.runStoredTests;
    expect(report).toMatchObject({ recordId, passed: 1, failed: 1 });
    expect(report.outcomes[1]).toEqual({ name: "child", passed: false, expected: true, actual: false, error: null });
  });

  it("refuses non-object data, foreign and unknown IDs, and callers without the run permission", async () => {
    const { baseId } = await policy(op.AGE_POLICY, true);
    // Deliberately not a JSON object: the typed document would not let it through.
    expect(errorCodes(await as("viewer")(op.RUN_POLICY as Document, { baseId, data: [1, 2] }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("stranger")(op.RUN_POLICY, { baseId, data: {} }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("viewer")(op.RUN_POLICY, { baseId: "nope", data: {} }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("auditor")(op.RUN_POLICY, { baseId, data: {} }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await graphql(gateway.url, op.RUN_POLICY, { baseId, data: {} }))).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("hostile input", () => {
  it("refuses data nested too deeply to echo with BAD_USER_INPUT, never an internal error", async () => {
    const depth = 150_000;
    const data = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    const query = `mutation($d: JSONObject!) { runRule(rule: "A **u** is ok if __a__ of **u** is equal to 1.", data: $d) { result error data } }`;
    const token = await gateway.tokenFor(tenant.users.viewer!.subject);
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: `{"query":${JSON.stringify(query)},"variables":{"d":${data}}}`,
    });
    const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toMatch(/nested deeper than 1000 levels/);
  });

  it("still evaluates data deeper than the engine reads as an evaluation error result", async () => {
    let data: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 200; i++) data = { a: data };
    const run = await as("viewer")(op.RUN_RULE, { rule: op.AGE_POLICY, data });
    expect(run.errors).toBeUndefined();
    expect(run.data.runRule.error).toMatch(/maxDataDepth/);
  });
});

describe("flows", () => {
  const flowYaml = loanFlow;
  const CREDIT = CREDIT_POLICY;

  it("publishes a flow over stored policies and runs it by base and by record, per docs/language.md#flow-definition", async () => {
    const age = await policy(op.AGE_POLICY, true);
    const credit = await policy(CREDIT, true);
    const created = (await as("publisher")(op.CREATE_FLOW, { input: { name: "loan", content: flowYaml(age.baseId, credit.recordId) } })).data.createFlow;
    const version = (await as("publisher")(op.PUBLISH, { input: { draftId: created.id, description: "v1" } })).data.publishDraft;
    const baseId = created.base.id;

    const review = (await as("viewer")(op.RUN_FLOW, { baseId, data: { Person: { age: 30, score: 500 } } })).data.runFlow;
    expect(review.result).toBe("manual-review");
    expect(review.nodeResponse.map((n: { nodeId: string }) => n.nodeId)).toEqual(["start-1", "credit", "review"]);
    expect(review.nodeResponse[2]?.response).toMatchObject({ result: true, rule: ["Custom response: manual-review"], error: null, labels: null });
    expect(review.record).toEqual({ recordId: version.id, versionNumber: 1, status: "PUBLISHED" });
    expect(Object.keys(review.execution).sort()).toEqual(["database", "engine", "orchestrator", "total"]);

    const approved = (await as("viewer")(op.RUN_FLOW_RECORD, { recordId: version.id, data: { Person: { age: 30, score: 700 } } })).data.runFlowRecord;
    expect(approved.result).toBe(true);
    expect(approved.nodeResponse.map((n: { nodeId: string }) => n.nodeId)).toEqual(["start-1", "credit"]);

    const refused = (await as("viewer")(op.RUN_FLOW, { baseId, data: { Person: { age: 10 } } })).data.runFlow;
    expect(refused.result).toBe(false);
    expect(refused.nodeResponse).toHaveLength(1);

    // A flow is not a policy and vice versa.
    expect(errorCodes(await as("viewer")(op.RUN_POLICY, { baseId, data: {} }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("viewer")(op.RUN_FLOW, { baseId: age.baseId, data: {} }))).toEqual(["NOT_FOUND"]);
  });

  it("refuses to publish a flow whose node names a missing, deleted or invisible policy, naming the node", async () => {
    const age = await policy(op.AGE_POLICY, true);
    const foreign = (await as("stranger")(op.CREATE_POLICY, { input: { name: "f", content: op.AGE_POLICY } })).data.createPolicy;
    for (const missing of ["00000000-0000-4000-8000-000000000000", foreign.base.id, "not-an-id"]) {
      const draft = (await as("publisher")(op.CREATE_FLOW, { input: { name: "bad", content: flowYaml(age.baseId, missing) } })).data.createFlow;
      const response = await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "v" } });
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors?.[0]?.message).toContain("node 'credit'");
    }
  });

  it("tests an unsaved flow, and reports flow failures with their wire code", async () => {
    const age = await policy(op.AGE_POLICY, true);
    const credit = await policy(CREDIT, false);
    const run = (await as("viewer")(op.TEST_FLOW, { definition: flowYaml(age.baseId, credit.baseId), data: { Person: { age: 30, score: 900 } } })).data
      .testFlow;
    expect(run).toMatchObject({ result: true, record: null });

    const missingId = await as("viewer")(op.TEST_FLOW, { definition: "flow:\n  start:\n    - id: s\n      type: start\n", data: {} });
    expect(errorCodes(missingId)).toEqual(["BAD_USER_INPUT"]);
    expect(missingId.errors?.[0]?.extensions?.details).toMatchObject({ flowErrorCode: "MISSING_POLICY_ID", nodeId: "s" });

    const notFound = await as("viewer")(op.TEST_FLOW, { definition: flowYaml("00000000-0000-4000-8000-000000000000", credit.baseId), data: {} });
    expect(errorCodes(notFound)).toEqual(["NOT_FOUND"]);
    expect(notFound.errors?.[0]?.extensions?.details).toMatchObject({ flowErrorCode: "POLICY_NOT_FOUND" });

    const yaml = await as("viewer")(op.TEST_FLOW, { definition: "flow: [unclosed", data: {} });
    expect(errorCodes(yaml)).toEqual(["BAD_USER_INPUT"]);
  });
});

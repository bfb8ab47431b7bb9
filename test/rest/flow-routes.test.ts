import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { graphql, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, CREDIT_POLICY, deleteBase, expectNanos, lastExecutedRecord, loanFlow, post, SDK_USER_AGENTS } from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let author: ReturnType<typeof authoring>;
let adminToken: string;
let viewKey: string;
let foreignKey: string;
let age: { baseId: string; recordId: string };
let credit: { baseId: string; recordId: string };

beforeAll(async () => {
  gateway = await startTestGateway();
  const { prisma } = gateway.database;
  tenant = await createTenant(prisma, { publisher: ["PUBLISHER"], admin: ["ADMIN"] });
  other = await createTenant(prisma, { stranger: ["ADMIN"] });
  author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  adminToken = await gateway.tokenFor(tenant.users.admin!.subject);
  viewKey = (await createApiKey(prisma, tenant.id, ["VIEW"])).key;
  foreignKey = (await createApiKey(prisma, other.id, ["VIEW"])).key;
  age = await author.policy(op.AGE_POLICY, true);
  // Never published: a flow still runs it ("has the link").
  credit = await author.policy(CREDIT_POLICY, false);
});
afterAll(() => gateway?.stop());

function expectPolicyNode(node: any, nodeId: string, nodeType: string, rule: string, result: boolean, data: unknown) {
  expect(Object.keys(node).sort()).toEqual(["execution", "nodeId", "nodeType", "response"]);
  expect(node.nodeId).toBe(nodeId);
  expect(node.nodeType).toBe(nodeType);
  expect(Object.keys(node.response).sort()).toEqual(["data", "error", "labels", "result", "rule", "trace"]);
  expect(node.response).toMatchObject({ result, rule: [rule], data, error: null, labels: null });
  expect(node.response.trace.execution[0].result).toBe(result);
  expect(Object.keys(node.execution).sort()).toEqual(["database", "engine", "total"]);
  for (const value of Object.values(node.execution)) expectNanos(value);
  expect(BigInt(node.execution.total)).toBe(BigInt(node.execution.database) + BigInt(node.execution.engine));
}

function expectFlowExecution(execution: any) {
  expect(Object.keys(execution).sort()).toEqual(["database", "engine", "orchestrator", "total"]);
  for (const value of Object.values(execution)) expectNanos(value);
}

describe("stored flows: POST /run/flow/{baseId} and /run/flow_version/{flowId}", () => {
  it("runs the guide's flow example through all three outcomes, with every field of the flow response", async () => {
    const flow = await author.flow(loanFlow(age.baseId, credit.baseId), true);

    const reviewData = { Person: { age: 30, score: 500 } };
    const review = await post(gateway.url, `/run/flow/${flow.baseId}`, { data: reviewData }, { key: viewKey, headers: { "user-agent": SDK_USER_AGENTS.go } });
    expect(review.status).toBe(200);
    expect(Object.keys(review.body).sort()).toEqual(["execution", "nodeResponse", "result"]);
    expect(review.body.result).toBe("manual-review");
    expect(review.body.nodeResponse).toHaveLength(3);
    expectPolicyNode(review.body.nodeResponse[0], "start-1", "start", op.AGE_POLICY, true, reviewData);
    expectPolicyNode(review.body.nodeResponse[1], "credit", "policy", CREDIT_POLICY, false, reviewData);
    expect(review.body.nodeResponse[2]).toEqual({
      nodeId: "review",
      nodeType: "custom",
      response: {
        result: true,
        trace: { execution: [{ conditions: [], outcome: { value: "manual-review" }, result: true, selector: { value: "custom_response" } }] },
        rule: ["Custom response: manual-review"],
        data: reviewData,
        error: null,
        labels: null,
      },
      execution: { database: "0", engine: "0", total: "0" },
    });
    expectFlowExecution(review.body.execution);
    expect(await lastExecutedRecord(gateway, flow.baseId)).toMatchObject({ recordId: flow.recordId, version: 1, resourceKind: "FLOW", actorType: "API_KEY" });

    const approved = await post(gateway.url, `/run/flow_version/${flow.recordId}`, { data: { Person: { age: 30, score: 700 } } }, { key: viewKey });
    expect(approved.status).toBe(200);
    expect(approved.body.result).toBe(true);
    expect(approved.body.nodeResponse.map((n: { nodeId: string }) => n.nodeId)).toEqual(["start-1", "credit"]);

    const refused = await post(gateway.url, `/run/flow/${flow.baseId}`, { data: { Person: { age: 10 } }, tests: [], schema: {} }, { key: viewKey });
    expect(refused.status).toBe(200);
    expect(refused.body.result).toBe(false);
    expect(refused.body.nodeResponse.map((n: { nodeId: string }) => n.nodeId)).toEqual(["start-1"]);
  });

  it("runs the draft of a never-published flow by base ID and by exact record ID", async () => {
    const flow = await author.flow(`flow:\n  start:\n    - id: only\n      type: start\n      policyId: ${age.recordId}\n`, false);
    for (const path of [`/run/flow/${flow.baseId}`, `/run/flow_version/${flow.recordId}`]) {
      const response = await post(gateway.url, path, { data: { Person: { age: 44 } } }, { key: viewKey });
      expect(response.status, path).toBe(200);
      expect(response.body.result).toBe(true);
      expect(await lastExecutedRecord(gateway, flow.baseId)).toMatchObject({ recordId: flow.recordId, version: null });
    }
  });

  it("keeps going when a node's policy fails to evaluate: that node carries the error and takes onFalse", async () => {
    const broken = await author.policy("A **Store** is profitable if __revenue__ of **Store** / __expenses__ of **Store** is greater than 1.5.", true);
    const flow = await author.flow(
      `flow:\n  start:\n    - id: s\n      type: start\n      policyId: ${broken.baseId}\n      onFalse:\n        - id: r\n          type: return\n          returnValue: {decision: refer}\n`,
      true,
    );
    const response = await post(gateway.url, `/run/flow/${flow.baseId}`, { data: { Store: { revenue: 1, expenses: 0 } } }, { key: viewKey });
    expect(response.status).toBe(200);
    expect(response.body.result).toEqual({ decision: "refer" });
    expect(response.body.nodeResponse[0].response.error).toBe("Evaluation error: Division by zero");
    expect(response.body.nodeResponse[0].response.result).toBe(false);
  });

  it("answers FLOW_NOT_FOUND (404, with details) for unknown, foreign, deleted and wrong-kind IDs", async () => {
    const doomed = await author.flow(loanFlow(age.baseId, credit.baseId), true);
    await deleteBase(graphqlClient(gateway), { token: adminToken }, doomed.baseId);
    const live = await author.flow(loanFlow(age.baseId, credit.baseId), true);
    const foreign = (
      await graphql(
        gateway.url,
        op.CREATE_FLOW,
        { input: { name: "f", content: "flow:\n  start: []\n" } },
        { authorization: `Bearer ${await gateway.tokenFor(other.users.stranger!.subject)}` },
      )
    ).data.createFlow;
    const attempts: [string, string, string][] = [
      ["/run/flow/", "00000000-0000-4000-8000-000000000000", viewKey],
      ["/run/flow/", "nope", viewKey],
      ["/run/flow/", foreign.base.id, viewKey],
      ["/run/flow_version/", foreign.id, viewKey],
      ["/run/flow/", doomed.baseId, viewKey],
      ["/run/flow_version/", doomed.recordId, viewKey],
      ["/run/flow/", age.baseId, viewKey],
      ["/run/flow_version/", age.recordId, viewKey],
      ["/run/flow/", live.baseId, foreignKey],
    ];
    for (const [route, id, key] of attempts) {
      const response = await post(gateway.url, `${route}${id}`, { data: {} }, { key });
      expect(response.status, `${route}${id}`).toBe(404);
      expect(response.body).toEqual({ code: "FLOW_NOT_FOUND", message: `flow not found: ${id}`, details: { flowId: id } });
    }
  });

  it("refuses malformed bodies with the flow VALIDATION_ERROR messages and details", async () => {
    const flow = await author.flow(loanFlow(age.baseId, credit.baseId), true);
    const bad = await post(gateway.url, `/run/flow/${flow.baseId}`, undefined, { key: viewKey, raw: "{oops" });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ code: "VALIDATION_ERROR", message: "validation error on field 'body': invalid JSON format", details: { field: "body" } });
    for (const [body, field] of [
      [{}, "data"],
      [{ data: [1] }, "data"],
      [{ data: null }, "data"],
      [[1], "body"],
    ] as const) {
      const response = await post(gateway.url, `/run/flow_version/${flow.recordId}`, body, { key: viewKey });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        code: "VALIDATION_ERROR",
        message: expect.stringMatching(new RegExp(`^validation error on field '${field}': `)),
        details: { field },
      });
    }
  });
});

describe("POST /flow/test: an unsaved flow", () => {
  it("runs a YAML definition against stored policies (by base ID and by record ID)", async () => {
    const data = { Person: { age: 30, score: 900 } };
    const response = await post(
      gateway.url,
      "/flow/test",
      { data, flow: loanFlow(age.recordId, credit.baseId) },
      { key: viewKey, headers: { "user-agent": SDK_USER_AGENTS.rust } },
    );
    expect(response.status).toBe(200);
    expect(response.body.result).toBe(true);
    expectPolicyNode(response.body.nodeResponse[0], "start-1", "start", op.AGE_POLICY, true, data);
    expectPolicyNode(response.body.nodeResponse[1], "credit", "policy", CREDIT_POLICY, true, data);
    expectFlowExecution(response.body.execution);
  });

  it("reports every flow failure (docs/language.md#flow-errors) with its code, status, message and details", async () => {
    const cases: [unknown, number, string, Record<string, string>, RegExp | string][] = [
      [{ data: {}, flow: "flow: [unclosed" }, 400, "VALIDATION_ERROR", { field: "flow" }, "validation error on field 'flow': invalid YAML flow format"],
      [{ data: {} }, 400, "VALIDATION_ERROR", { field: "flow" }, /^validation error on field 'flow': /],
      [{ flow: "flow:\n  start: []\n" }, 400, "VALIDATION_ERROR", { field: "data" }, /^validation error on field 'data': /],
      [{ data: {}, flow: "flow:\n  start:\n    - id: s\n      type: start\n" }, 400, "MISSING_POLICY_ID", { nodeId: "s" }, /./],
      [{ data: {}, flow: "flow:\n  start:\n    - id: w\n      type: wobble\n" }, 400, "INVALID_FLOW", { nodeId: "w" }, /unknown node type: wobble/],
      [{ data: {}, flow: "flow:\n  start:\n    - id: c\n      type: custom\n" }, 400, "INVALID_FLOW", { nodeId: "c" }, /./],
      [
        { data: {}, flow: `flow:\n  start:\n    - id: s\n      type: start\n      policyId: ${age.baseId}\n      returnValue: maybe\n` },
        400,
        "INVALID_FLOW",
        { nodeId: "s" },
        /./,
      ],
      [
        { data: {}, flow: "flow:\n  start:\n    - id: s\n      type: start\n      policyId: 00000000-0000-4000-8000-000000000000\n" },
        404,
        "POLICY_NOT_FOUND",
        { policyId: "00000000-0000-4000-8000-000000000000" },
        /./,
      ],
    ];
    for (const [body, status, code, details, message] of cases) {
      const response = await post(gateway.url, "/flow/test", body, { key: viewKey });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body, JSON.stringify(body)).toEqual({ code, message: typeof message === "string" ? message : expect.stringMatching(message), details });
    }
    const notJson = await post(gateway.url, "/flow/test", undefined, { key: viewKey, raw: "flow: yaml is not a body" });
    expect(notJson.body).toEqual({ code: "VALIDATION_ERROR", message: "validation error on field 'body': invalid JSON format", details: { field: "body" } });
  });

  it("treats a node naming a deleted or foreign policy as POLICY_NOT_FOUND, aborting the whole flow", async () => {
    const doomed = await author.policy(op.AGE_POLICY, true);
    await deleteBase(graphqlClient(gateway), { token: adminToken }, doomed.baseId);
    const foreign = (
      await graphql(
        gateway.url,
        op.CREATE_POLICY,
        { input: { name: "f", content: op.AGE_POLICY } },
        { authorization: `Bearer ${await gateway.tokenFor(other.users.stranger!.subject)}` },
      )
    ).data.createPolicy;
    for (const missing of [doomed.baseId, doomed.recordId, foreign.base.id]) {
      const response = await post(gateway.url, "/flow/test", { data: { Person: { age: 30 } }, flow: loanFlow(age.baseId, missing) }, { key: viewKey });
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ code: "POLICY_NOT_FOUND", details: { policyId: missing } });
      expect(response.body.nodeResponse).toBeUndefined();
    }
  });
});

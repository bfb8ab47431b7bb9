import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CREDIT_POLICY,
  expectPolicyExecution,
  type GraphQLResponse,
  loanFlow,
  op,
  type ParityWorld,
  type StoredRun,
  type RestResponse,
  startParityWorld,
} from "../support/kit.js";
import { flowResponseJson, grpcClients, runResponseJson, statusName, toStruct, unary, type CallOutcome, type GrpcClients } from "./support.js";

/**
 * gRPC, REST and GraphQL share authentication, rate limiting, authorization and the ExecutionService: the same
 * stored policy or flow, run with the same API key all three ways, must give the same answer field by field
 * (result, trace, rule lines, data, error, labels, node responses), run the same record (the audit events say
 * which), and refuse alike — §7.1's status code for REST's status, with REST's message.
 */
let world: ParityWorld;
let clients: GrpcClients;

beforeAll(async () => {
  world = await startParityWorld({ GRPC_PORT: "0" });
  clients = grpcClients(world.gateway.grpcAddress!);
});
afterAll(async () => {
  clients?.close();
  await world?.stop();
});

/** §7 status → §7.1 code. */
const GRPC_CODE_OF: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  503: "UNAVAILABLE",
};

interface Scenario extends StoredRun {
  /** The base whose audit events must name the record that ran (stored runs only). */
  baseId?: string;
}

async function allThree(s: Scenario): Promise<{ gql: GraphQLResponse; rest: RestResponse; rpc: CallOutcome }> {
  const { gql, rest } = await world.runStored(s);
  const idField = s.by === "base" ? "baseId" : s.kind === "policy" ? "policyId" : "flowId";
  const rpc = await unary(
    s.kind === "policy" ? clients.policy : clients.flow,
    s.kind === "policy" ? "RunPolicy" : "RunFlow",
    { [idField]: s.id, data: toStruct(s.data) },
    { key: s.key },
  );
  return { gql, rest, rpc };
}

const executedEvents = (baseId: string, take: number) =>
  world.gateway.database.prisma.auditEvent.findMany({ where: { baseId, action: "EXECUTED" }, orderBy: { sequence: "desc" }, take });

/** Runs the scenario three ways, checks that they agree, returns the gRPC outcome. */
async function expectSameAnswer(s: Scenario): Promise<CallOutcome> {
  const label = JSON.stringify(s).slice(0, 200);
  const eventsBefore = s.baseId ? (await executedEvents(s.baseId, 1000)).length : 0;
  const { gql, rest, rpc } = await allThree(s);

  if (gql.errors) {
    // A refusal: gRPC says it with §7.1's code for REST's status, and REST's message.
    expect(rpc.ok, label).toBe(false);
    expect(statusName(rpc), label).toBe(GRPC_CODE_OF[rest.status]);
    expect(rpc.error!.details, label).toBe(rest.body.message);
    if (s.baseId) expect((await executedEvents(s.baseId, 1000)).length, label).toBe(eventsBefore);
    return rpc;
  }
  expect(rpc.ok, `${label}: ${rpc.error?.details}`).toBe(true);
  const out = gql.data.out;
  if (s.kind === "policy") {
    const answer = runResponseJson(rpc.response);
    const { execution, error, ...fields } = answer;
    const { execution: restExecution, error: restError, ...restFields } = rest.body;
    expect(fields, label).toEqual(restFields);
    expect(fields, label).toEqual({ result: out.result, trace: out.trace, rule: out.rule, data: out.data, labels: out.labels });
    // `error` is a string on the REST wire and {"message": …} in the Struct of §7.1.
    expect(error, label).toEqual(restError === null ? null : { message: restError });
    expect(restError, label).toBe(out.error);
    expectPolicyExecution(execution, { databaseZero: false });
    expect(restExecution, label).toBeDefined();
  } else {
    const answer = flowResponseJson(rpc.response);
    expect(answer.result, label).toEqual(rest.body.result);
    expect(answer.result, label).toEqual(out.result);
    const nodes = answer.nodeResponse.map((n: any) => ({
      nodeId: n.nodeId,
      nodeType: n.nodeType,
      response: { ...n.response, execution: undefined, error: n.response.error?.message ?? null },
      execution: Object.keys(n.execution).sort(),
    }));
    const restNodes = rest.body.nodeResponse.map((n: any) => ({
      nodeId: n.nodeId,
      nodeType: n.nodeType,
      response: { ...n.response, execution: undefined },
      execution: Object.keys(n.execution).sort(),
    }));
    expect(nodes, label).toEqual(restNodes);
    expect(
      nodes.map((n: any) => ({ nodeId: n.nodeId, nodeType: n.nodeType, response: { ...n.response, execution: undefined } })),
      label,
    ).toEqual(out.nodeResponse.map((n: any) => ({ nodeId: n.nodeId, nodeType: n.nodeType, response: { ...n.response, execution: undefined } })));
    expect(Object.keys(answer.execution).sort()).toEqual(["database", "engine", "orchestrator", "total"]);
  }
  if (s.baseId) {
    // All three ran the record GraphQL names, as the API key.
    const events = await executedEvents(s.baseId, 3);
    expect(
      events.map((e) => e.recordId),
      label,
    ).toEqual([out.record.recordId, out.record.recordId, out.record.recordId]);
    expect(events.every((e) => e.actorType === "API_KEY")).toBe(true);
  }
  return rpc;
}

describe("gRPC, REST and GraphQL agree", () => {
  it("on stored policies: by base (draft, then version), by record, evaluation errors, labels", async () => {
    const draft = await world.author.policy(op.AGE_POLICY, false);
    await expectSameAnswer({ kind: "policy", by: "base", id: draft.baseId, data: { Person: { age: 30 } }, key: world.keys.view, baseId: draft.baseId });
    await expectSameAnswer({ kind: "policy", by: "record", id: draft.recordId, data: { Person: { age: 3 } }, key: world.keys.view, baseId: draft.baseId });

    const broken = await world.author.policy("A **S** is ok if __a__ of **S** / __b__ of **S** is greater than 1.", true);
    const failed = await expectSameAnswer({
      kind: "policy",
      by: "base",
      id: broken.baseId,
      data: { S: { a: 1, b: 0 } },
      key: world.keys.view,
      baseId: broken.baseId,
    });
    expect(runResponseJson(failed.response).error).toEqual({ message: "Evaluation error: Division by zero" });
    await expectSameAnswer({ kind: "policy", by: "base", id: broken.baseId, data: { S: { a: "x", b: 2 } }, key: world.keys.view, baseId: broken.baseId });

    const labelled = await world.author.policy(
      "A **Person** gets a loan if the **Person** passes the age check.\nage_check. A **Person** passes the age check if __age__ of **Person** is at least 18.\n",
      true,
    );
    const withLabels = await expectSameAnswer({
      kind: "policy",
      by: "base",
      id: labelled.baseId,
      data: { Person: { age: 40, tags: ["a", null, 1.5], nested: { deep: [{ x: true }] } } },
      key: world.keys.view,
      baseId: labelled.baseId,
    });
    expect(runResponseJson(withLabels.response).labels).not.toBeNull();

    const published = await world.author.policy(op.AGE_POLICY, true);
    const newer = await world.author.newDraft(published.recordId, op.ADULT_POLICY);
    for (const [by, id] of [
      ["base", published.baseId],
      ["record", published.recordId],
      ["record", newer],
    ] as const) {
      for (const age of [10, 19, 25]) {
        await expectSameAnswer({ kind: "policy", by, id, data: { Person: { age } }, key: world.keys.view, baseId: published.baseId });
      }
    }
    await expectSameAnswer({ kind: "policy", by: "base", id: published.baseId, data: { Person: {} }, key: world.keys.view, baseId: published.baseId });
  });

  it("on refusals: unknown, deleted, foreign, unauthenticated and under-scoped keys", async () => {
    const published = await world.author.policy(op.AGE_POLICY, true);
    const doomed = await world.author.policy(op.AGE_POLICY, true);
    await world.deleteBase(doomed.baseId);
    const data = { Person: { age: 30 } };
    const refusals: Scenario[] = [
      { kind: "policy", by: "base", id: doomed.baseId, data, key: world.keys.view, baseId: doomed.baseId },
      { kind: "policy", by: "record", id: doomed.recordId, data, key: world.keys.view, baseId: doomed.baseId },
      { kind: "policy", by: "base", id: "00000000-0000-4000-8000-000000000000", data, key: world.keys.view },
      { kind: "policy", by: "base", id: "not-a-uuid", data, key: world.keys.view },
      { kind: "policy", by: "base", id: published.baseId, data, key: world.keys.foreign, baseId: published.baseId },
      { kind: "policy", by: "base", id: published.baseId, data, key: world.keys.audit, baseId: published.baseId },
      { kind: "policy", by: "record", id: published.recordId, data, key: world.keys.revoked, baseId: published.baseId },
      { kind: "policy", by: "record", id: published.recordId, data, key: world.keys.expired, baseId: published.baseId },
      { kind: "policy", by: "record", id: published.recordId, data, key: "vk_not_a_key", baseId: published.baseId },
    ];
    const codes = [];
    for (const scenario of refusals) codes.push(statusName(await expectSameAnswer(scenario)));
    expect(codes).toEqual([
      "NOT_FOUND",
      "NOT_FOUND",
      "NOT_FOUND",
      "NOT_FOUND",
      "NOT_FOUND",
      "PERMISSION_DENIED",
      "UNAUTHENTICATED",
      "UNAUTHENTICATED",
      "UNAUTHENTICATED",
    ]);
  });

  it("on stored flows: by base, by record, node responses, and flow failures", async () => {
    const age = await world.author.policy(op.AGE_POLICY, true);
    const credit = await world.author.policy(CREDIT_POLICY, false);
    const flow = await world.author.flow(loanFlow(age.baseId, credit.baseId), true);
    for (const person of [{ age: 30, score: 500 }, { age: 30, score: 700 }, { age: 10 }]) {
      const data = { Person: person };
      await expectSameAnswer({ kind: "flow", by: "base", id: flow.baseId, data, key: world.keys.view, baseId: flow.baseId });
      await expectSameAnswer({ kind: "flow", by: "record", id: flow.recordId, data, key: world.keys.view, baseId: flow.baseId });
    }
    // A stored flow whose node names a policy that is gone: POLICY_NOT_FOUND (REST 404) with REST's message.
    const orphan = await world.author.flow(loanFlow(age.baseId, "00000000-0000-4000-8000-000000000000"), false);
    const missing = await expectSameAnswer({ kind: "flow", by: "base", id: orphan.baseId, data: { Person: { age: 30 } }, key: world.keys.view });
    expect(statusName(missing)).toBe("NOT_FOUND");

    await world.deleteBase(flow.baseId);
    const gone = await expectSameAnswer({ kind: "flow", by: "base", id: flow.baseId, data: {}, key: world.keys.view, baseId: flow.baseId });
    expect(gone.error?.details).toBe(`flow not found: ${flow.baseId}`);
    await expectSameAnswer({ kind: "flow", by: "record", id: flow.recordId, data: {}, key: world.keys.foreign, baseId: flow.baseId });
    expect(statusName(await expectSameAnswer({ kind: "flow", by: "record", id: flow.recordId, data: {}, key: world.keys.audit, baseId: flow.baseId }))).toBe(
      "PERMISSION_DENIED",
    );
  });
});

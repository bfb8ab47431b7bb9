import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParityRunRuleDocument, ParityTestFlowDocument } from "../../operations/__generated__/graphql.js";
import {
  CREDIT_POLICY,
  type GraphQLResponse,
  lastExecutedRecord,
  loanFlow,
  op,
  type ParityWorld,
  type StoredRun,
  post,
  type RestResponse,
  startParityWorld,
} from "../support/kit.js";

/**
 * The shim and GraphQL share the authorization module and the ExecutionService: the same scenario, run
 * with the same API key through both, must give the same outcome — result, error, trace, which record ran
 * (GraphQL says so in `record`; for REST the audit event says so), and the same kind of refusal.
 */
let world: ParityWorld;

beforeAll(async () => {
  world = await startParityWorld();
});
afterAll(() => world?.stop());

type Scenario =
  | (StoredRun & { baseId?: string })
  | { kind: "rule"; rule: string; data: Record<string, unknown>; key: string }
  | { kind: "testFlow"; flow: string; data: Record<string, unknown>; key: string };

const STATUS_OF: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, BAD_USER_INPUT: 400 };

async function both(s: Scenario) {
  const as = world.gql.as({ key: s.key });
  const url = world.gateway.url;
  let gql: GraphQLResponse;
  let rest: RestResponse;
  switch (s.kind) {
    case "policy":
    case "flow":
      ({ gql, rest } = await world.runStored(s));
      break;
    case "rule":
      gql = await as(ParityRunRuleDocument, { rule: s.rule, data: s.data });
      rest = await post(url, "/run", { rule: s.rule, data: s.data }, { key: s.key });
      break;
    case "testFlow":
      gql = await as(ParityTestFlowDocument, { definition: s.flow, data: s.data });
      rest = await post(url, "/flow/test", { data: s.data, flow: s.flow }, { key: s.key });
      break;
  }
  return { gql, rest };
}

/** Runs the scenario both ways and checks they agree; returns GraphQL's answer. */
async function expectSameOutcome(s: Scenario) {
  const before = "baseId" in s && s.baseId ? await lastExecutedRecord(world.gateway, s.baseId) : null;
  const { gql, rest } = await both(s);
  const label = JSON.stringify(s).slice(0, 200);
  if (gql.errors) {
    const code = gql.errors[0]!.extensions!.code!;
    expect(rest.status, label).toBe(STATUS_OF[code]);
    const flowCode = (gql.errors[0]!.extensions as { details?: { flowErrorCode?: string } }).details?.flowErrorCode;
    if (flowCode) {
      expect(rest.body.code, label).toBe(flowCode);
      expect(rest.body.message, label).toBe(gql.errors[0]!.message);
    } else if (s.kind === "flow" && code === "NOT_FOUND") {
      expect(rest.body.code, label).toBe("FLOW_NOT_FOUND");
    } else {
      expect(rest.body.code, label).toBe(code === "BAD_USER_INPUT" ? "VALIDATION_ERROR" : code);
    }
    if ("baseId" in s && s.baseId) expect(await lastExecutedRecord(world.gateway, s.baseId), label).toEqual(before);
    return gql;
  }
  const out = gql.data.out;
  if (s.kind === "policy" || s.kind === "rule") {
    expect(rest.status, label).toBe(out.error === null ? 200 : 400);
    const { execution, ...restBody } = rest.body;
    expect(execution, label).toBeDefined();
    const { record, ...gqlBody } = out;
    expect(restBody, label).toEqual(gqlBody);
    if (s.kind === "rule") expect(record).toBeNull();
  } else {
    expect(rest.status, label).toBe(200);
    expect(rest.body.result, label).toEqual(out.result);
    expect(
      rest.body.nodeResponse.map((n: any) => ({ nodeId: n.nodeId, nodeType: n.nodeType, response: n.response })),
      label,
    ).toEqual(out.nodeResponse.map((n: any) => ({ nodeId: n.nodeId, nodeType: n.nodeType, response: n.response })));
    if (s.kind === "testFlow") expect(out.record).toBeNull();
  }
  if ("baseId" in s && s.baseId) {
    // The GraphQL run and the REST run ran the same record, the one GraphQL names.
    const events = await world.gateway.database.prisma.auditEvent.findMany({
      where: { baseId: s.baseId, action: "EXECUTED" },
      orderBy: { sequence: "desc" },
      take: 2,
    });
    expect(
      events.map((e) => e.recordId),
      label,
    ).toEqual([out.record.recordId, out.record.recordId]);
    expect(events.every((e) => e.actorType === "API_KEY")).toBe(true);
  }
  return gql;
}

describe("GraphQL and REST agree", () => {
  it("on policies: by base (draft, then version), by record, evaluation errors, refusals", async () => {
    const { baseId, recordId: draftId } = await world.author.policy(op.AGE_POLICY, false);
    const data = { Person: { age: 30 } };
    const onDraft = await expectSameOutcome({ kind: "policy", by: "base", id: baseId, data, key: world.keys.view, baseId });
    expect(onDraft.data.out.record).toMatchObject({ recordId: draftId, status: "DRAFT" });

    const broken = await world.author.policy("A **S** is ok if __a__ of **S** / __b__ of **S** is greater than 1.", true);
    const failed = await expectSameOutcome({
      kind: "policy",
      by: "base",
      id: broken.baseId,
      data: { S: { a: 1, b: 0 } },
      key: world.keys.view,
      baseId: broken.baseId,
    });
    expect(failed.data.out.error).toBe("Evaluation error: Division by zero");

    const published = await world.author.policy(op.AGE_POLICY, true);
    const newer = await world.author.newDraft(published.recordId, op.ADULT_POLICY);
    for (const [by, id] of [
      ["base", published.baseId],
      ["record", published.recordId],
      ["record", newer],
    ] as const) {
      for (const age of [10, 19, 25]) {
        await expectSameOutcome({ kind: "policy", by, id, data: { Person: { age } }, key: world.keys.view, baseId: published.baseId });
      }
    }
    await expectSameOutcome({ kind: "policy", by: "base", id: published.baseId, data: { Person: {} }, key: world.keys.view, baseId: published.baseId });

    const doomed = await world.author.policy(op.AGE_POLICY, true);
    await world.deleteBase(doomed.baseId);
    const refusals: Scenario[] = [
      { kind: "policy", by: "base", id: doomed.baseId, data, key: world.keys.view, baseId: doomed.baseId },
      { kind: "policy", by: "record", id: doomed.recordId, data, key: world.keys.view, baseId: doomed.baseId },
      { kind: "policy", by: "base", id: "00000000-0000-4000-8000-000000000000", data, key: world.keys.view },
      { kind: "policy", by: "base", id: published.baseId, data, key: world.keys.foreign, baseId: published.baseId },
      { kind: "policy", by: "base", id: published.baseId, data, key: world.keys.audit, baseId: published.baseId },
      { kind: "policy", by: "record", id: published.recordId, data, key: world.keys.revoked, baseId: published.baseId },
    ];
    const codes = [];
    for (const scenario of refusals) codes.push((await expectSameOutcome(scenario)).errors?.[0]?.extensions?.code);
    expect(codes).toEqual(["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED"]);
  });

  it("on unsaved rules: results, labels, parse, evaluation and type errors", async () => {
    const rules: [string, Record<string, unknown>][] = [
      [op.AGE_POLICY, { Person: { age: 25 } }],
      [op.AGE_POLICY, { Person: { age: "old" } }],
      [
        "A **Person** gets a loan if the **Person** passes the age check.\nage_check. A **Person** passes the age check if __age__ of **Person** is at least 18.\n",
        { Person: { age: 40 } },
      ],
      ["A **user** passes if.", {}],
      ["A **S** is ok if __a__ of **S** / __b__ of **S** is greater than 1.", { S: { a: 1, b: 0 } }],
      ["A **S** is ok if __a__ of **S** / __b__ of **S** is greater than 1.", { S: { a: "x", b: 2 } }],
    ];
    for (const [rule, data] of rules) await expectSameOutcome({ kind: "rule", rule, data, key: world.keys.view });
    const forbidden = await expectSameOutcome({ kind: "rule", rule: op.AGE_POLICY, data: {}, key: world.keys.audit });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("on flows: by base, by record, unsaved, and every flow failure", async () => {
    const age = await world.author.policy(op.AGE_POLICY, true);
    const credit = await world.author.policy(CREDIT_POLICY, false);
    const flow = await world.author.flow(loanFlow(age.baseId, credit.baseId), true);
    for (const person of [{ age: 30, score: 500 }, { age: 30, score: 700 }, { age: 10 }]) {
      const data = { Person: person };
      await expectSameOutcome({ kind: "flow", by: "base", id: flow.baseId, data, key: world.keys.view, baseId: flow.baseId });
      await expectSameOutcome({ kind: "flow", by: "record", id: flow.recordId, data, key: world.keys.view, baseId: flow.baseId });
      await expectSameOutcome({ kind: "testFlow", flow: loanFlow(age.recordId, credit.baseId), data, key: world.keys.view });
    }
    const failures = [
      "flow: [unclosed",
      "flow:\n  start:\n    - id: s\n      type: start\n",
      "flow:\n  start:\n    - id: w\n      type: wobble\n",
      loanFlow(age.baseId, "00000000-0000-4000-8000-000000000000"),
    ];
    const codes = [];
    for (const definition of failures) {
      const gql = await expectSameOutcome({ kind: "testFlow", flow: definition, data: { Person: { age: 30 } }, key: world.keys.view });
      codes.push((gql.errors?.[0]?.extensions as { details?: { flowErrorCode?: string } } | undefined)?.details?.flowErrorCode);
    }
    expect(codes).toEqual(["VALIDATION_ERROR", "MISSING_POLICY_ID", "INVALID_FLOW", "POLICY_NOT_FOUND"]);

    await world.deleteBase(flow.baseId);
    await expectSameOutcome({ kind: "flow", by: "base", id: flow.baseId, data: {}, key: world.keys.view, baseId: flow.baseId });
    await expectSameOutcome({ kind: "flow", by: "record", id: flow.recordId, data: {}, key: world.keys.foreign, baseId: flow.baseId });
    await expectSameOutcome({ kind: "flow", by: "record", id: flow.recordId, data: {}, key: world.keys.audit, baseId: flow.baseId });
  });
});

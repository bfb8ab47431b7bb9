/**
 * Aliases, tags, risk levels and locks (spec §11, issue #16 points 1–4), through the real HTTP server, with a
 * second gateway process on the same database for cache invalidation.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, graphql, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

let gateway: TestGateway;
let second: TestGateway;
let A: TestTenant;
let B: TestTenant;
let as: GraphQLClient["as"];
let viewKey: string;

const SET_ALIAS = `mutation($b: ID!, $a: String) { setBaseAlias(baseId: $b, alias: $a) { id alias } }`;
const ADD_TAGS = `mutation($b: ID!, $t: [String!]!) { addBaseTags(baseId: $b, tags: $t) { id tags versions { id } draft { revision } } }`;
const REMOVE_TAGS = `mutation($b: ID!, $t: [String!]!) { removeBaseTags(baseId: $b, tags: $t) { id tags } }`;
const SET_RISK = `mutation($b: ID!, $r: RiskLevel!) { setBaseRiskLevel(baseId: $b, riskLevel: $r) { id riskLevel } }`;
const LOCK = `mutation($b: ID!, $r: String!) { lockBase(baseId: $b, reason: $r) { id lock { reason lockedAt lockedById lockedBy { email } } } }`;
const UNLOCK = `mutation($b: ID!) { unlockBase(baseId: $b) { id lock { reason } } }`;
const LIST = `query($f: BaseFilter) { bases(first: 100, filter: $f) { totalCount edges { node { id alias tags riskLevel } } } }`;
const EVENTS = `query($b: ID!) { auditEvents(first: 20, filter: { baseId: $b }) { edges { node { action detail } } } }`;

const flowOver = (policyRef: string) =>
  `flow:\n  start:\n    - id: s\n      type: start\n      policyId: ${policyRef}\n      onTrue:\n        - id: y\n          type: return\n          returnValue: yes\n      onFalse:\n        - id: n\n          type: return\n          returnValue: no\n`;

async function newPolicy(user = "admin", content = op.AGE_POLICY, publish = true) {
  const draft = (await as(user)(op.CREATE_POLICY, { input: { name: `p-${randomUUID()}`, content } })).data.createPolicy;
  if (publish) await as(user)(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } });
  return draft.base.id as string;
}

const rest = async (target: TestGateway, path: string, data: unknown) => {
  const response = await fetch(`${target.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": viewKey },
    body: JSON.stringify({ data }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  gateway = await startTestGateway();
  second = await startTestGateway({}, gateway.db);
  A = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], editor: ["EDITOR"], publisher: ["PUBLISHER"], viewer: ["VIEWER"] });
  B = await createTenant(gateway.database.prisma, { adminB: ["ADMIN"] });
  as = graphqlClient(gateway, A, B).as;
  viewKey = (await createApiKey(gateway.database.prisma, A.id, ["VIEW"])).key;
});
afterAll(async () => {
  await second?.stop();
  await gateway?.stop();
});

describe("aliases", () => {
  it("are case-folded, validated, never UUID-shaped, and unique among a tenant's live bases", async () => {
    const one = await newPolicy();
    const two = await newPolicy();
    expect((await as("admin")(SET_ALIAS, { b: one, a: "  Loan-Check_1 " })).data.setBaseAlias.alias).toBe("loan-check_1");
    for (const bad of ["", "has space", "ünï", "a/b", "x".repeat(65), randomUUID(), randomUUID().toUpperCase()]) {
      expect(errorCodes(await as("admin")(SET_ALIAS, { b: two, a: bad })), bad).toEqual(["BAD_USER_INPUT"]);
    }
    const taken = await as("admin")(SET_ALIAS, { b: two, a: "LOAN-CHECK_1" });
    expect(errorCodes(taken)).toEqual(["CONFLICT"]);
    expect(taken.errors![0]!.message).toContain("loan-check_1");
    // Another tenant has its own namespace.
    const foreign = (await as("adminB")(op.CREATE_POLICY, { input: { name: "b", content: op.AGE_POLICY } })).data.createPolicy.base.id;
    expect((await as("adminB")(SET_ALIAS, { b: foreign, a: "loan-check_1" })).data.setBaseAlias.alias).toBe("loan-check_1");
    // Setting the same alias again changes (and records) nothing; null removes it.
    await as("admin")(SET_ALIAS, { b: one, a: "loan-check_1" });
    expect((await as("admin")(SET_ALIAS, { b: one, a: null })).data.setBaseAlias.alias).toBeNull();
    const events = (await as("admin")(EVENTS, { b: one })).data.auditEvents.edges.map((e: any) => e.node);
    expect(events.filter((e: any) => e.action === "ALIAS_CHANGED").map((e: any) => e.detail)).toEqual([
      { from: "loan-check_1", to: null },
      { from: null, to: "loan-check_1" },
    ]);
  });

  it("are accepted wherever a base ID is: base, records, runs, REST routes, group members, deletion", async () => {
    const id = await newPolicy();
    await as("admin")(SET_ALIAS, { b: id, a: "adult-check" });
    expect((await as("viewer")(op.BASE, { id: "Adult-Check" })).data.base.id).toBe(id);
    expect((await as("viewer")(op.RECORDS, { baseId: "adult-check" })).data.records).toHaveLength(1);
    expect((await as("viewer")(op.RUN_POLICY, { baseId: "adult-check", data: { Person: { age: 30 } } })).data.runPolicy).toMatchObject({
      result: true,
      record: { baseId: id },
    });
    expect((await as("viewer")(op.RUN_BATCH, { baseId: "adult-check", inputs: [{ Person: { age: 3 } }] })).data.runPolicyBatch[0]?.result).toBe(false);
    const policyRun = await rest(gateway, "/run/policy/adult-check", { Person: { age: 30 } });
    expect(policyRun.status).toBe(200);
    expect(policyRun.body.result).toBe(true);
    expect((await rest(gateway, "/run/policy/no-such-alias", {})).status).toBe(404);

    const flow = (await as("admin")(op.CREATE_FLOW, { input: { name: `f-${randomUUID()}`, content: flowOver("adult-check") } })).data.createFlow;
    await as("admin")(op.PUBLISH, { input: { draftId: flow.id, description: "v1" } });
    await as("admin")(SET_ALIAS, { b: flow.base.id, a: "adult-flow" });
    expect((await as("viewer")(op.RUN_FLOW, { baseId: "adult-flow", data: { Person: { age: 30 } } })).data.runFlow.result).toBe("yes");
    const flowRun = await rest(gateway, "/run/flow/adult-flow", { Person: { age: 5 } });
    expect(flowRun.status).toBe(200);
    expect(flowRun.body.result).toBe("no");

    const group = (await as("editor")(`mutation { createGroup(input: { name: "g-${randomUUID()}" }) { id } }`)).data.createGroup.id;
    const added = await as("editor")(
      `mutation($b: ID!, $g: ID!) { addGroupMember(baseId: $b, groupId: $g) { policies(first: 5) { edges { node { id } } } } }`,
      { b: "adult-check", g: group },
    );
    expect(added.data.addGroupMember.policies.edges.map((e: any) => e.node.id)).toEqual([id]);

    // Another tenant's alias is simply unknown.
    expect(errorCodes(await as("adminB")(op.BASE, { id: "adult-check" }))).toEqual(["NOT_FOUND"]);
  });

  it("in flow nodes resolve when the node runs, on every process: moving an alias switches what runs", async () => {
    const adult = await newPolicy("admin", op.ADULT_POLICY);
    const age = await newPolicy("admin", op.AGE_POLICY);
    await as("admin")(SET_ALIAS, { b: age, a: "threshold" });
    const flow = (await as("admin")(op.CREATE_FLOW, { input: { name: `f-${randomUUID()}`, content: flowOver("threshold") } })).data.createFlow;
    const v1 = (await as("admin")(op.PUBLISH, { input: { draftId: flow.id, description: "by alias" } })).data.publishDraft;
    expect(v1.content).toContain("policyId: threshold");
    const viewerAuth = { authorization: `Bearer ${await gateway.tokenFor(A.users.viewer!.subject)}` };
    const runOnSecond = async () =>
      (await graphql(second.url, op.RUN_FLOW, { baseId: flow.base.id, data: { Person: { age: 19 } } }, viewerAuth)).data.runFlow.result;
    expect(await runOnSecond()).toBe("yes"); // cached on the second process now

    // The alias moves to the stricter policy: both processes run it at once.
    await as("admin")(SET_ALIAS, { b: age, a: null });
    expect(errorCodes(await graphql(second.url, op.RUN_FLOW, { baseId: flow.base.id, data: { Person: { age: 19 } } }, viewerAuth))).toEqual(["NOT_FOUND"]);
    await as("admin")(SET_ALIAS, { b: adult, a: "threshold" });
    expect(await runOnSecond()).toBe("no");
    // Deleting the holder (forced: the flow's latest version uses it) frees the alias, and the flow stops
    // finding it; restoring it while another base holds the alias is refused.
    expect(errorCodes(await as("admin")(op.DELETE_BASE, { id: "threshold" }))).toEqual(["CONFLICT"]);
    expect((await as("admin")(`mutation { deleteBase(id: "threshold", force: true) { id } }`)).errors).toBeUndefined();
    expect(errorCodes(await graphql(second.url, op.RUN_FLOW, { baseId: flow.base.id, data: { Person: { age: 19 } } }, viewerAuth))).toEqual(["NOT_FOUND"]);
    await as("admin")(SET_ALIAS, { b: age, a: "threshold" });
    expect(await runOnSecond()).toBe("yes");
    const restore = await as("admin")(op.RESTORE_BASE, { id: adult });
    expect(errorCodes(restore)).toEqual(["CONFLICT"]);
    expect(restore.errors![0]!.message).toContain("threshold");
  });

  it("publishing a flow that names an unknown alias is refused naming the node", async () => {
    const flow = (await as("admin")(op.CREATE_FLOW, { input: { name: `f-${randomUUID()}`, content: flowOver("nobody-has-this") } })).data.createFlow;
    const refused = await as("admin")(op.PUBLISH, { input: { draftId: flow.id, description: "v1" } });
    expect(errorCodes(refused)).toEqual(["BAD_USER_INPUT"]);
    expect(refused.errors![0]!.message).toContain("node 's'");
  });
});

describe("tags", () => {
  it("are normalised, bounded, added and removed without a version, audited, and filter by all of them", async () => {
    const one = await newPolicy();
    const two = await newPolicy();
    const added = (await as("editor")(ADD_TAGS, { b: one, t: ["  Credit ", "RETAIL  banking", "credit"] })).data.addBaseTags;
    expect(added.tags).toEqual(["credit", "retail banking"]);
    expect(added.versions).toHaveLength(1);
    expect(added.draft).toBeNull();
    await as("editor")(ADD_TAGS, { b: two, t: ["credit"] });
    const filter = async (tags: string[]) => (await as("viewer")(LIST, { f: { tags } })).data.bases.edges.map((e: any) => e.node.id).sort();
    expect(await filter(["CREDIT"])).toEqual([one, two].sort());
    expect(await filter(["credit", "retail banking"])).toEqual([one]);
    expect(await filter(["credit", "nothing"])).toEqual([]);
    expect((await as("editor")(REMOVE_TAGS, { b: one, t: ["Retail Banking", "never-there"] })).data.removeBaseTags.tags).toEqual(["credit"]);
    expect(errorCodes(await as("editor")(ADD_TAGS, { b: one, t: [" "] }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("editor")(ADD_TAGS, { b: one, t: ["x".repeat(51)] }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("editor")(ADD_TAGS, { b: one, t: Array.from({ length: 20 }, (_, i) => `t${i}`) }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("viewer")(ADD_TAGS, { b: one, t: ["x"] }))).toEqual(["FORBIDDEN"]);
    const events = (await as("admin")(EVENTS, { b: one })).data.auditEvents.edges.map((e: any) => e.node).filter((e: any) => e.action === "TAGS_CHANGED");
    expect(events.map((e: any) => e.detail)).toEqual([
      { removed: ["retail banking"], tags: ["credit"] },
      { added: ["credit", "retail banking"], tags: ["credit", "retail banking"] },
    ]);
  });

  it("the tag filter is served by the GIN index with 10,000 bases", async () => {
    const { prisma } = gateway.database;
    const tenant = await createTenant(prisma, { owner: ["ADMIN"] });
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      tenantId: tenant.id,
      kind: "POLICY" as const,
      name: `n${i}`,
      ownership: "ORGANISATION_OWNED" as const,
      tags: [`team-${i % 50}`, ...(i % 1000 === 0 ? ["rare"] : [])],
    }));
    // In slices Prisma sends as one statement each: a larger createMany is split into statements that Prisma's
    // adapter issues at once on one transaction's connection, which pg warns of (DeprecationWarning).
    for (let i = 0; i < rows.length; i += 2_000) await prisma.base.createMany({ data: rows.slice(i, i + 2_000) });
    await prisma.$executeRawUnsafe("ANALYZE bases");
    const plan = (
      await prisma.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(
        `EXPLAIN SELECT id FROM bases WHERE tenant_id = '${tenant.id}' AND deleted_at IS NULL AND tags @> ARRAY['rare', 'team-0']::text[]`,
      )
    )
      .map((r) => r["QUERY PLAN"])
      .join("\n");
    expect(plan).toContain("bases_tags_idx");
    const auth = { authorization: `Bearer ${await gateway.tokenFor(tenant.users.owner!.subject)}` };
    const found = await graphql(gateway.url, LIST, { f: { tags: ["rare", "team-0"] } }, auth);
    expect(found.data.bases.totalCount).toBe(10);
  }, 60_000);
});

describe("risk levels", () => {
  it("default to LOW, are set by editors, audited, shown and filterable in listings", async () => {
    const id = await newPolicy();
    expect((await as("viewer")(`query($id: ID!) { base(id: $id) { riskLevel } }`, { id })).data.base.riskLevel).toBe("LOW");
    expect((await as("editor")(SET_RISK, { b: id, r: "HIGH" })).data.setBaseRiskLevel.riskLevel).toBe("HIGH");
    expect(errorCodes(await as("viewer")(SET_RISK, { b: id, r: "MEDIUM" }))).toEqual(["FORBIDDEN"]);
    const high = (await as("viewer")(LIST, { f: { riskLevels: ["HIGH"] } })).data.bases.edges.map((e: any) => e.node);
    expect(high).toContainEqual(expect.objectContaining({ id, riskLevel: "HIGH" }));
    expect(high.every((b: any) => b.riskLevel === "HIGH")).toBe(true);
    const events = (await as("admin")(EVENTS, { b: id })).data.auditEvents.edges.map((e: any) => e.node).filter((e: any) => e.action === "RISK_CHANGED");
    expect(events.map((e: any) => e.detail)).toEqual([{ from: "LOW", to: "HIGH" }]);
  });
});

describe("locks", () => {
  it("freeze the draft and deletion with a CONFLICT naming who and why; runs go on; admins only", async () => {
    const draft = (await as("admin")(op.CREATE_POLICY, { input: { name: `p-${randomUUID()}`, content: op.AGE_POLICY } })).data.createPolicy;
    const v1 = (await as("admin")(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } })).data.publishDraft;
    const next = (await as("admin")(op.DRAFT_FROM_VERSION, { versionId: v1.id })).data.createDraftFromVersion;
    const baseId = draft.base.id;
    expect(errorCodes(await as("publisher")(LOCK, { b: baseId, r: "audit" }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await as("admin")(LOCK, { b: baseId, r: "  " }))).toEqual(["BAD_USER_INPUT"]);
    const locked = (await as("admin")(LOCK, { b: baseId, r: "Quarterly audit" })).data.lockBase.lock;
    expect(locked).toMatchObject({ reason: "Quarterly audit", lockedById: A.users.admin!.id, lockedBy: { email: expect.stringContaining("admin@") } });

    const refusals = [
      await as("admin")(op.UPDATE_DRAFT, { input: { draftId: next.id, expectedRevision: 1, content: op.ADULT_POLICY } }),
      await as("admin")(op.PUBLISH, { input: { draftId: next.id, description: "v2" } }),
      await as("admin")(op.DRAFT_FROM_VERSION, { versionId: v1.id, replace: true }),
      await as("admin")(op.DELETE_BASE, { id: baseId }),
      await as("admin")(SET_ALIAS, { b: baseId, a: "frozen" }),
      await as("admin")(LOCK, { b: baseId, r: "again" }),
    ];
    for (const refused of refusals) {
      expect(errorCodes(refused)).toEqual(["CONFLICT"]);
      expect(refused.errors![0]!.message).toMatch(/locked by admin <admin@.*>.*"Quarterly audit"/);
      expect(refused.errors![0]!.extensions!.details).toMatchObject({ lockedById: A.users.admin!.id, lockReason: "Quarterly audit" });
    }
    // Runs are unaffected; tags and risk (catalogue labels) stay editable.
    expect((await as("viewer")(op.RUN_POLICY, { baseId, data: { Person: { age: 30 } } })).data.runPolicy.result).toBe(true);
    expect((await rest(gateway, `/run/policy/${baseId}`, { Person: { age: 30 } })).status).toBe(200);
    expect((await as("editor")(ADD_TAGS, { b: baseId, t: ["audited"] })).data.addBaseTags.tags).toEqual(["audited"]);

    expect((await as("admin")(UNLOCK, { b: baseId })).data.unlockBase.lock).toBeNull();
    expect(errorCodes(await as("admin")(UNLOCK, { b: baseId }))).toEqual(["CONFLICT"]);
    expect((await as("admin")(op.UPDATE_DRAFT, { input: { draftId: next.id, expectedRevision: 1, content: op.ADULT_POLICY } })).errors).toBeUndefined();
    const actions = (await as("admin")(EVENTS, { b: baseId })).data.auditEvents.edges.map((e: any) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(["LOCKED", "UNLOCKED"]));
  });
});

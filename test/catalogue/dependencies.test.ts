/** Which flows use a policy, which policies a flow uses, and deleting used policies (issue #16 point 5). */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

let gateway: TestGateway;
let A: TestTenant;
let as: GraphQLClient["as"];

const flowOver = (...refs: string[]) => {
  // A chain: each node runs the next reference on true.
  const node = (i: number): string => {
    const pad = "  ".repeat(i * 2);
    const next =
      i + 1 < refs.length
        ? `\n${pad}      onTrue:\n${node(i + 1)}`
        : `\n${pad}      onTrue:\n${pad}        - id: y${i}\n${pad}          type: return\n${pad}          returnValue: yes`;
    return `${pad}    - id: n${i}\n${pad}      type: ${i === 0 ? "start" : "policy"}\n${pad}      policyId: ${refs[i]}${next}\n${pad}      onFalse:\n${pad}        - id: f${i}\n${pad}          type: return\n${pad}          returnValue: no`;
  };
  return `flow:\n  start:\n${node(0)}\n`;
};

const DEPS = `query($id: ID!) { base(id: $id) {
  uses { reference nodeIds missing base { id } record { id versionNumber status } }
  usedBy { reference nodeIds versionNumber latest flow { id name } record { id status } }
} }`;

async function policy(alias?: string) {
  const draft = (await as("admin")(op.CREATE_POLICY, { input: { name: `p-${randomUUID()}`, content: op.AGE_POLICY } })).data.createPolicy;
  const version = (await as("admin")(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } })).data.publishDraft;
  if (alias) await as("admin")(`mutation($b: ID!, $a: String) { setBaseAlias(baseId: $b, alias: $a) { id } }`, { b: draft.base.id, a: alias });
  return { baseId: draft.base.id as string, versionId: version.id as string };
}

beforeAll(async () => {
  gateway = await startTestGateway();
  A = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], editor: ["EDITOR"] });
  as = graphqlClient(gateway, A).as;
});
afterAll(() => gateway?.stop());

it("a flow's uses resolve base IDs, record IDs and aliases to records, marking missing ones", async () => {
  const byBase = await policy();
  const byRecord = await policy();
  const byAlias = await policy("dep-alias");
  const ghost = randomUUID();
  const content = flowOver(byBase.baseId, byRecord.versionId, "DEP-ALIAS", ghost);
  const flow = (await as("admin")(op.CREATE_FLOW, { input: { name: "uses", content } })).data.createFlow;
  const uses = (await as("admin")(DEPS, { id: flow.base.id })).data.base.uses;
  expect(uses).toEqual([
    {
      reference: byBase.baseId,
      nodeIds: ["n0"],
      missing: false,
      base: { id: byBase.baseId },
      record: { id: byBase.versionId, versionNumber: 1, status: "PUBLISHED" },
    },
    {
      reference: byRecord.versionId,
      nodeIds: ["n1"],
      missing: false,
      base: { id: byRecord.baseId },
      record: { id: byRecord.versionId, versionNumber: 1, status: "PUBLISHED" },
    },
    {
      reference: "DEP-ALIAS",
      nodeIds: ["n2"],
      missing: false,
      base: { id: byAlias.baseId },
      record: { id: byAlias.versionId, versionNumber: 1, status: "PUBLISHED" },
    },
    { reference: ghost, nodeIds: ["n3"], missing: true, base: null, record: null },
  ]);
  expect((await as("admin")(DEPS, { id: byAlias.baseId })).data.base.uses).toEqual([]);
});

it("a policy's usedBy lists flow drafts and versions by version, however the flow names it", async () => {
  const leaf = await policy("leaf-dep");
  const flowA = (await as("admin")(op.CREATE_FLOW, { input: { name: "A uses by id", content: flowOver(leaf.baseId) } })).data.createFlow;
  const v1 = (await as("admin")(op.PUBLISH, { input: { draftId: flowA.id, description: "v1" } })).data.publishDraft;
  const nextDraft = (await as("admin")(op.DRAFT_FROM_VERSION, { versionId: v1.id })).data.createDraftFromVersion;
  const flowB = (await as("admin")(op.CREATE_FLOW, { input: { name: "B uses by alias", content: flowOver("leaf-dep") } })).data.createFlow;
  const flowC = (await as("admin")(op.CREATE_FLOW, { input: { name: "C uses by record", content: flowOver(leaf.versionId) } })).data.createFlow;
  // An editor's never-published flow is not listed for others, so it does not show up for them.
  await as("editor")(op.CREATE_FLOW, { input: { name: "private", content: flowOver(leaf.baseId) } });
  const usedBy = (await as("admin")(DEPS, { id: leaf.baseId })).data.base.usedBy;
  const summary = usedBy.map((u: any) => `${u.flow.name}|${u.record.status}|${u.versionNumber}|${u.latest}|${u.reference}`).sort();
  expect(summary).toEqual([
    `A uses by id|DRAFT|null|false|${leaf.baseId}`,
    `A uses by id|PUBLISHED|1|true|${leaf.baseId}`,
    `B uses by alias|DRAFT|null|false|leaf-dep`,
    `C uses by record|DRAFT|null|false|${leaf.versionId}`,
  ]);
  expect(usedBy.find((u: any) => u.record.status === "DRAFT" && u.flow.id === flowA.base.id).record.id).toBe(nextDraft.id);
  expect([flowB, flowC]).toHaveLength(2);
});

it("deleting a policy used by the latest version of a live flow is refused naming the flows, unless forced by an admin", async () => {
  const leaf = await policy();
  const unusedLeaf = await policy();
  const flow = (await as("admin")(op.CREATE_FLOW, { input: { name: "guarded flow", content: flowOver(leaf.baseId) } })).data.createFlow;
  // A flow whose only record naming the policy is a draft does not block: only a live flow's latest version does.
  const draftOnly = await policy();
  await as("admin")(op.CREATE_FLOW, { input: { name: "draft only", content: flowOver(draftOnly.baseId) } });
  expect((await as("admin")(op.DELETE_BASE, { id: draftOnly.baseId })).errors).toBeUndefined();

  await as("admin")(op.PUBLISH, { input: { draftId: flow.id, description: "v1" } });
  const refused = await as("admin")(op.DELETE_BASE, { id: leaf.versionId });
  expect(errorCodes(refused)).toEqual(["CONFLICT"]);
  expect(refused.errors![0]!.message).toContain("'guarded flow'");
  expect(refused.errors![0]!.extensions!.details).toEqual({ flows: [{ id: flow.base.id, name: "guarded flow", version: 1 }] });
  expect((await as("admin")(op.DELETE_BASE, { id: unusedLeaf.baseId })).errors).toBeUndefined();

  const forced = await as("admin")(`mutation($id: ID!) { deleteBase(id: $id, force: true) { id } }`, { id: leaf.baseId });
  expect(forced.errors).toBeUndefined();
  const events = await as("admin")(`query($b: ID!) { auditEvents(first: 5, filter: { baseId: $b, actions: [DELETED] }) { edges { node { detail } } } }`, {
    b: leaf.baseId,
  });
  expect(events.data.auditEvents.edges[0].node.detail).toEqual({ forced: true, usedBy: [{ id: flow.base.id, name: "guarded flow", version: 1 }] });
  // The flow now shows the policy as missing.
  expect((await as("admin")(DEPS, { id: flow.base.id })).data.base.uses[0]).toMatchObject({ missing: true });
});

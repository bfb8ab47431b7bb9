import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { graphql, startGatewayBehindProxy, type ProxiedGateway, type TestGateway } from "../support/gateway.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

// Every statement the gateway sends passes through a counting proxy.
let behindProxy: ProxiedGateway;
let proxy: TcpProxy;
let gateway: TestGateway;
let tenant: TestTenant;
let auth: Record<string, string>;

beforeAll(async () => {
  behindProxy = await startGatewayBehindProxy();
  ({ gateway, proxy } = behindProxy);
  tenant = await createTenant(gateway.database.prisma, { admin: ["ADMIN"] });
  auth = { authorization: `Bearer ${await gateway.tokenFor(tenant.users.admin!.subject)}` };
  // 100 bases, each with two versions, a draft and a group membership, written directly for speed.
  await seedBases(100);
});
afterAll(() => behindProxy?.stop());

async function seedBases(count: number): Promise<void> {
  const { prisma } = gateway.database;
  const userId = tenant.users.admin!.id;
  const group = await prisma.group.create({ data: { tenantId: tenant.id, name: "g" } });
  const bases = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    tenantId: tenant.id,
    kind: "POLICY" as const,
    name: `base ${String(i).padStart(3, "0")}`,
    ownership: "ORGANISATION_OWNED" as const,
    ownerId: userId,
    createdById: userId,
    updatedById: userId,
    latestVersionNumber: 2,
    alias: `policy-${i}`,
  }));
  await prisma.base.createMany({ data: bases });
  const versions = bases.flatMap((base) =>
    [1, 2].map((number) => ({ id: randomUUID(), tenantId: tenant.id, baseId: base.id, number, content: "x", description: `v${number}`, createdById: userId })),
  );
  await prisma.version.createMany({ data: versions });
  // As many flows, each naming its policy by base ID, alias or record ID in turn, plus one missing policy.
  const flows = bases.map((base, i) => ({
    ...base,
    id: randomUUID(),
    kind: "FLOW" as const,
    name: `flow ${String(i).padStart(3, "0")}`,
    alias: `flow-${i}`,
    latestVersionNumber: 1,
  }));
  await prisma.base.createMany({ data: flows });
  const refOf = (i: number) => [bases[i]!.id, `POLICY-${i}`, versions[2 * i + 1]!.id][i % 3]!;
  await prisma.version.createMany({
    data: flows.map((flow, i) => ({
      tenantId: tenant.id,
      baseId: flow.id,
      number: 1,
      description: "v1",
      createdById: userId,
      content: flowNaming(refOf(i), randomUUID()),
    })),
  });
  await prisma.draft.createMany({
    data: bases.map((base) => ({ tenantId: tenant.id, baseId: base.id, content: "x", createdById: userId, updatedById: userId })),
  });
  await prisma.groupMember.createMany({ data: bases.map((base) => ({ groupId: group.id, baseId: base.id, tenantId: tenant.id })) });
}

const flowNaming = (first: string, second: string) =>
  `flow:\n  start:\n    - id: a\n      type: start\n      policyId: ${first}\n      onTrue:\n        - id: b\n          type: policy\n          policyId: ${second}\n          onTrue:\n            - id: y\n              type: return\n              returnValue: true\n      onFalse:\n        - id: n\n          type: return\n          returnValue: false\n`;

const LIST = `query($first: Int!) { bases(first: $first) { totalCount edges { node {
  id name owner { id email } createdBy { id } draft { id revision }
  versions { id versionNumber base { id } } latestVersion { id versionNumber } groups { id name }
} } } }`;

async function statementsFor(first: number): Promise<number> {
  await graphql(gateway.url, "{ viewer { credential } }", {}, auth); // warm the connection pool
  const before = proxy.statements;
  const response = await graphql(gateway.url, LIST, { first }, auth);
  expect(response.errors).toBeUndefined();
  const edges = response.data.bases.edges;
  expect(edges).toHaveLength(first);
  expect(edges[first - 1].node.versions).toHaveLength(2);
  expect(edges[first - 1].node.groups).toEqual([{ id: expect.any(String), name: "g" }]);
  return proxy.statements - before;
}

it("lists 10 or 100 bases with owner, draft, versions, latest version and groups in the same few statements", async () => {
  const forTen = await statementsFor(10);
  const forHundred = await statementsFor(100);
  console.info(`statements: ${forTen} for 10 bases, ${forHundred} for 100`);
  expect(forHundred).toBe(forTen);
  // authentication 1, page + count 2, users 1, drafts 1, versions 1, bases of versions 1, groups 1
  expect(forHundred).toBeLessThanOrEqual(10);
});

const FLOWS = `query($first: Int!) { bases(first: $first, filter: { kind: FLOW }) { edges { node {
  id alias uses { reference nodeIds missing base { id alias name } record { id versionNumber } }
} } } }`;
const POLICIES = `query($first: Int!) { bases(first: $first, filter: { kind: POLICY }) { edges { node {
  id usedBy { reference versionNumber latest flow { id name } record { id } }
} } } }`;

async function statementsOf(query: string, first: number, check: (edges: any[]) => void): Promise<number> {
  await graphql(gateway.url, "{ viewer { credential } }", {}, auth);
  const before = proxy.statements;
  const response = await graphql(gateway.url, query, { first }, auth);
  expect(response.errors).toBeUndefined();
  check(response.data.bases.edges);
  return proxy.statements - before;
}

it("lists 10 or 100 flows with the policies they use, and policies with the flows using them, in the same few statements", async () => {
  const checkUses = (edges: any[]) => {
    for (const edge of edges) {
      const [named, missing] = edge.node.uses;
      expect(named).toMatchObject({ missing: false, nodeIds: ["a"], base: { alias: expect.stringMatching(/^policy-/) }, record: { versionNumber: 2 } });
      expect(missing).toMatchObject({ missing: true, nodeIds: ["b"], base: null });
    }
  };
  const checkUsedBy = (edges: any[]) => {
    for (const edge of edges) expect(edge.node.usedBy).toEqual([expect.objectContaining({ versionNumber: 1, latest: true })]);
  };
  const uses = [await statementsOf(FLOWS, 10, checkUses), await statementsOf(FLOWS, 100, checkUses)];
  const usedBy = [await statementsOf(POLICIES, 10, checkUsedBy), await statementsOf(POLICIES, 100, checkUsedBy)];
  console.info(`statements: uses ${uses.join(" / ")}, usedBy ${usedBy.join(" / ")} for 10 / 100 bases`);
  expect(uses[1]).toBe(uses[0]);
  expect(usedBy[1]).toBe(usedBy[0]);
  // authentication 1, page + count 2, runnable records 2, references 4 + 3
  expect(uses[1]).toBeLessThanOrEqual(12);
  // authentication 1, page + count 2, the policies and their records 3, flow records naming them 2
  expect(usedBy[1]).toBeLessThanOrEqual(10);
});

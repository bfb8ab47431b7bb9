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
    id: randomUUID(), tenantId: tenant.id, kind: "POLICY" as const, name: `base ${String(i).padStart(3, "0")}`,
    ownership: "ORGANISATION_OWNED" as const, ownerId: userId, createdById: userId, updatedById: userId, latestVersionNumber: 2,
  }));
  await prisma.base.createMany({ data: bases });
  await prisma.version.createMany({
    data: bases.flatMap((base) => [1, 2].map((number) => ({ tenantId: tenant.id, baseId: base.id, number, content: "x", description: `v${number}`, createdById: userId }))),
  });
  await prisma.draft.createMany({ data: bases.map((base) => ({ tenantId: tenant.id, baseId: base.id, content: "x", createdById: userId, updatedById: userId })) });
  await prisma.groupMember.createMany({ data: bases.map((base) => ({ groupId: group.id, baseId: base.id, tenantId: tenant.id })) });
}

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

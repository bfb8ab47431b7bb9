import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway, type TestTenant } from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let gql: GraphQLClient;

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], pat: ["PUBLISHER"], vic: ["VIEWER"], aud: ["AUDITOR"] });
  other = await createTenant(gateway.database.prisma, { bob: ["ADMIN"] });
  gql = graphqlClient(gateway, tenant, other);
});
afterAll(() => gateway?.stop());

const FIELDS =
  "id name description action conditions requiredApprovals approverRoles approverUserIds allowSelfApprove bypassRoles expiresAfter enabled archivedAt";
const CREATE = `mutation($input: CreateApprovalPolicyInput!) { createApprovalPolicy(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateApprovalPolicyInput!) { updateApprovalPolicy(id: $id, input: $input) { ${FIELDS} } }`;
const ARCHIVE = `mutation($id: ID!) { archiveApprovalPolicy(id: $id) { id archivedAt } }`;
const RESTORE = `mutation($id: ID!) { restoreApprovalPolicy(id: $id) { id archivedAt } }`;
const LIST = `query($first: Int, $after: String, $all: Boolean, $action: ApprovalAction) {
  approvalPolicies(first: $first, after: $after, includeArchived: $all, action: $action) { totalCount pageInfo { hasNextPage endCursor } edges { node { id name archivedAt } } }
}`;
const PAYMENTS = `A **Change** needs approval if __base name__ of **Change** contains "payment".`;

const policyEvents = (id: string) =>
  gateway.database.prisma.auditEvent.findMany({
    where: { resourceKind: "APPROVAL_POLICY", detail: { path: ["approvalPolicyId"], equals: id } },
    orderBy: { sequence: "asc" },
  });

async function create(input: Record<string, unknown>, who = "ada"): Promise<Record<string, unknown> & { id: string }> {
  const response = await gql(who, CREATE, { input: { name: `p-${randomUUID()}`, action: "PUBLISH", approverRoles: ["ADMIN"], ...input } });
  expect(response.errors).toBeUndefined();
  return response.data.createApprovalPolicy;
}

describe("approval policies", () => {
  it("lets an admin create a policy with every setting, and records it", async () => {
    const policy = await create({
      name: "  Payments need a second publisher ",
      description: "four eyes",
      conditions: PAYMENTS,
      requiredApprovals: 2,
      approverRoles: ["PUBLISHER", "ADMIN", "PUBLISHER"],
      approverUserIds: [tenant.users.pat!.id.toUpperCase()],
      allowSelfApprove: true,
      bypassRoles: ["ADMIN"],
      expiresAfter: "P1DT12H",
    });
    expect(policy).toMatchObject({
      name: "Payments need a second publisher",
      description: "four eyes",
      action: "PUBLISH",
      conditions: PAYMENTS,
      requiredApprovals: 2,
      approverRoles: ["PUBLISHER", "ADMIN"],
      approverUserIds: [tenant.users.pat!.id],
      allowSelfApprove: true,
      bypassRoles: ["ADMIN"],
      expiresAfter: "P1DT12H",
      enabled: true,
      archivedAt: null,
    });
    const stored = await gateway.database.prisma.approvalPolicy.findUniqueOrThrow({ where: { id: policy.id } });
    expect(stored.expiresAfterSeconds).toBe(36 * 3600);
    const [event] = await policyEvents(policy.id);
    expect(event).toMatchObject({ action: "CREATED", resourceKind: "APPROVAL_POLICY", actorType: "USER", actorId: tenant.users.ada!.id });
    expect(event!.detail).toMatchObject({ name: "Payments need a second publisher", conditions: PAYMENTS, requiredApprovals: 2 });
  });

  it("refuses conditions that do not parse, with the engine's parse error, and writes nothing", async () => {
    const name = `broken-${randomUUID()}`;
    const response = await gql("ada", CREATE, { input: { name, action: "PUBLISH", approverRoles: ["ADMIN"], conditions: "A **Change** needs approval if" } });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(response.errors![0]!.extensions!.details).toEqual({ field: "conditions" });
    expect(response.errors![0]!.message).toMatch(/^conditions: Parse error/);
    expect(await gateway.database.prisma.approvalPolicy.count({ where: { name } })).toBe(0);
  });

  it.each([
    [{ name: "   " }, "name"],
    [{ name: "x".repeat(201) }, "name"],
    [{ description: "d".repeat(2001) }, "description"],
    [{ requiredApprovals: 0 }, "requiredApprovals"],
    [{ requiredApprovals: 11 }, "requiredApprovals"],
    [{ approverRoles: [] }, "approverRoles"],
    [{ approverRoles: [], approverUserIds: ["not-a-uuid"] }, "approverUserIds"],
    [{ approverUserIds: [randomUUID()] }, "approverUserIds"],
    [{ expiresAfter: "tomorrow" }, "expiresAfter"],
    [{ expiresAfter: "P1M" }, "expiresAfter"],
    [{ expiresAfter: "PT30S" }, "expiresAfter"],
    [{ expiresAfter: "P400D" }, "expiresAfter"],
  ])("refuses %j naming the field %s", async (input, field) => {
    const response = await gql("ada", CREATE, { input: { name: `v-${randomUUID()}`, action: "PUBLISH", approverRoles: ["ADMIN"], ...input } });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(response.errors![0]!.extensions!.details).toEqual({ field });
  });

  it("refuses a named approver of another tenant like an unknown user", async () => {
    const response = await gql("ada", CREATE, { input: { name: "x", action: "DELETE", approverUserIds: [other.users.bob!.id] } });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(response.errors![0]!.extensions!.details).toEqual({ field: "approverUserIds" });
  });

  it("updates only the fields given, records what changed, and records nothing when nothing changes", async () => {
    const policy = await create({ conditions: PAYMENTS, expiresAfter: "P2D" });
    const response = await gql("ada", UPDATE, { id: policy.id, input: { requiredApprovals: 3, conditions: "", expiresAfter: "" } });
    expect(response.errors).toBeUndefined();
    expect(response.data.updateApprovalPolicy).toMatchObject({
      name: policy.name,
      requiredApprovals: 3,
      conditions: null,
      expiresAfter: null,
      approverRoles: ["ADMIN"],
    });
    const again = await gql("ada", UPDATE, { id: policy.id, input: { requiredApprovals: 3 } });
    expect(again.errors).toBeUndefined();
    const events = await policyEvents(policy.id);
    expect(events.map((e) => e.action)).toEqual(["CREATED", "EDITED"]);
    expect(events[1]!.detail).toEqual({
      approvalPolicyId: policy.id,
      changed: { requiredApprovals: { from: 1, to: 3 }, conditions: { from: PAYMENTS, to: null }, expiresAfter: { from: "P2D", to: null } },
    });
    const broken = await gql("ada", UPDATE, { id: policy.id, input: { conditions: "nonsense that is no rule" } });
    expect(errorCodes(broken)).toEqual(["BAD_USER_INPUT"]);
    const emptied = await gql("ada", UPDATE, { id: policy.id, input: { approverRoles: [] } });
    expect(emptied.errors![0]!.extensions!.details).toEqual({ field: "approverRoles" });
  });

  it("archives and restores, CONFLICT when already in that state, and hides archived policies from the default listing", async () => {
    const policy = await create({ action: "TRANSFER_OWNERSHIP" });
    const archived = await gql("ada", ARCHIVE, { id: policy.id });
    expect(archived.data.archiveApprovalPolicy.archivedAt).not.toBeNull();
    expect(errorCodes(await gql("ada", ARCHIVE, { id: policy.id }))).toEqual(["CONFLICT"]);
    const active = await gql("vic", LIST, { first: 100, action: "TRANSFER_OWNERSHIP" });
    expect(active.data.approvalPolicies.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(policy.id);
    const all = await gql("vic", LIST, { first: 100, all: true, action: "TRANSFER_OWNERSHIP" });
    expect(all.data.approvalPolicies.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(policy.id);
    const restored = await gql("ada", RESTORE, { id: policy.id });
    expect(restored.data.restoreApprovalPolicy.archivedAt).toBeNull();
    expect(errorCodes(await gql("ada", RESTORE, { id: policy.id }))).toEqual(["CONFLICT"]);
    expect((await policyEvents(policy.id)).map((e) => e.action)).toEqual(["CREATED", "ARCHIVED", "RESTORED"]);
  });

  it("pages through the listing by cursor, and reads are for every role while changes are for admins", async () => {
    const fresh = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], aud: ["AUDITOR"], pat: ["PUBLISHER"] });
    for (let i = 0; i < 3; i++) await gql({ user: fresh.users.ada! }, CREATE, { input: { name: `page-${i}`, action: "DELETE", approverRoles: ["ADMIN"] } });
    const first = await gql({ user: fresh.users.aud! }, LIST, { first: 2 });
    expect(first.data.approvalPolicies).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const second = await gql({ user: fresh.users.aud! }, LIST, { first: 2, after: first.data.approvalPolicies.pageInfo.endCursor });
    expect(second.data.approvalPolicies.pageInfo.hasNextPage).toBe(false);
    const names = [...first.data.approvalPolicies.edges, ...second.data.approvalPolicies.edges].map((e: { node: { name: string } }) => e.node.name);
    expect(names).toEqual(["page-0", "page-1", "page-2"]);
    const denied = await gql({ user: fresh.users.pat! }, CREATE, { input: { name: "nope", action: "DELETE", approverRoles: ["ADMIN"] } });
    expect(errorCodes(denied)).toEqual(["FORBIDDEN"]);
  });

  it("answers NOT_FOUND for another tenant's policy, for reading and for changing it", async () => {
    const policy = await create({});
    const byOther = (query: string, variables: Record<string, unknown>) => gql("bob", query, variables);
    expect(errorCodes(await byOther(`query($id: ID!) { approvalPolicy(id: $id) { id } }`, { id: policy.id }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await byOther(UPDATE, { id: policy.id, input: { name: "stolen" } }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await byOther(ARCHIVE, { id: policy.id }))).toEqual(["NOT_FOUND"]);
    const stored = await gateway.database.prisma.approvalPolicy.findUniqueOrThrow({ where: { id: policy.id } });
    expect(stored).toMatchObject({ name: policy.name, archivedAt: null });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Action } from "../../src/authorization/actions.js";
import { mayPerform } from "../../src/authorization/authorize.js";
import {
  createApiKey,
  createTenant,
  errorCodes,
  fixtures,
  type GraphQLClient,
  graphqlClient,
  startTestGateway,
  type TestGateway,
  type TestTenant,
} from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let gql: GraphQLClient;

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], eve: ["EDITOR"], pub: ["PUBLISHER"], vic: ["VIEWER"], aud: ["AUDITOR"] });
  other = await createTenant(gateway.database.prisma, { bob: ["ADMIN"] });
  gql = graphqlClient(gateway, tenant);
});
afterAll(() => gateway?.stop());

const EVENTS = `query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id sequence occurredAt actorType actorId action resourceKind baseId recordId version groupId detail hash previousHash } }
  }
}`;
const VERIFY = `{ verifyAuditChain { valid checkedEvents firstBrokenSequence reason } }`;

describe("reading the audit log", () => {
  let groupA: string;
  let groupB: string;
  let policy: { id: string };
  let flow: { id: string };
  let beforeSecond: Date;

  beforeAll(async () => {
    policy = await fixtures(gateway.database.prisma).base(tenant).ownedBy("eve").published().create();
    flow = await fixtures(gateway.database.prisma).base(tenant).flow().ownedBy("eve").published().create();
    const create = `mutation($name: String!) { createGroup(input: { name: $name }) { id } }`;
    groupA = (await gql("eve", create, { name: "A" })).data.createGroup.id; // 1 CREATED by eve
    await gql("eve", `mutation($g: ID!, $b: ID!) { addGroupMember(groupId: $g, baseId: $b) { id } }`, { g: groupA, b: policy.id }); // 2 ASSIGNED
    // Wait for the clock to move on so the time filter has a boundary between events.
    const last = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: tenant.id }, orderBy: { sequence: "desc" } });
    while (Date.now() <= last.occurredAt.getTime() + 1) await new Promise((r) => setTimeout(r, 2));
    beforeSecond = new Date();
    groupB = (await gql("pub", create, { name: "B" })).data.createGroup.id; // 3 CREATED by pub
    await gql("pub", `mutation($g: ID!, $b: ID!) { addGroupMember(groupId: $g, baseId: $b) { id } }`, { g: groupB, b: flow.id }); // 4 ASSIGNED
    await gql("pub", `mutation($g: ID!, $b: ID!) { addGroupMember(groupId: $g, baseId: $b) { id } }`, { g: groupB, b: policy.id }); // 5 ASSIGNED
    await gql("ada", `mutation($id: ID!) { updateGroup(id: $id, input: { description: "x" }) { id } }`, { id: groupA }); // 6 EDITED
    await gql({ user: other.users.bob! }, create, { name: "Elsewhere" });
  });

  it("shows admins and auditors the tenant's events, newest first, with their chain links", async () => {
    for (const who of ["ada", "aud"]) {
      const response = await gql(who, EVENTS, { first: 100 });
      expect(response.errors).toBeUndefined();
      const nodes = response.data.auditEvents.edges.map((e: any) => e.node);
      expect(response.data.auditEvents.totalCount).toBe(6);
      expect(nodes.map((n: any) => n.sequence)).toEqual(["6", "5", "4", "3", "2", "1"]);
      expect(nodes.map((n: any) => n.action)).toEqual(["EDITED", "ASSIGNED", "ASSIGNED", "CREATED", "ASSIGNED", "CREATED"]);
      expect(nodes[4]).toMatchObject({
        actorType: "USER",
        actorId: tenant.users.eve!.id,
        resourceKind: "POLICY",
        baseId: policy.id,
        groupId: groupA,
        detail: { membership: "added", group: "A" },
      });
      expect(nodes.at(-1).previousHash).toBe("0".repeat(64));
      for (let i = 0; i < nodes.length - 1; i++) expect(nodes[i].previousHash).toBe(nodes[i + 1].hash);
      expect(nodes[0].occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  it("pages with an opaque cursor", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const response: any = await gql("aud", EVENTS, { first: 4, after });
      expect(response.data.auditEvents.totalCount).toBe(6);
      seen.push(...response.data.auditEvents.edges.map((e: any) => e.node.sequence));
      if (!response.data.auditEvents.pageInfo.hasNextPage) break;
      after = response.data.auditEvents.pageInfo.endCursor;
    }
    expect(seen).toEqual(["6", "5", "4", "3", "2", "1"]);
    expect(errorCodes(await gql("aud", EVENTS, { first: 4, after: "bogus" }))).toEqual(["BAD_USER_INPUT"]);
  });

  it("filters by action, base, actor and time range, all combined", async () => {
    const sequences = async (filter: Record<string, unknown>) => {
      const response = await gql("aud", EVENTS, { first: 100, filter });
      expect(response.errors).toBeUndefined();
      return response.data.auditEvents.edges.map((e: any) => e.node.sequence);
    };
    expect(await sequences({ actions: ["CREATED"] })).toEqual(["3", "1"]);
    expect(await sequences({ actions: ["CREATED", "EDITED"] })).toEqual(["6", "3", "1"]);
    expect(await sequences({ baseId: policy.id })).toEqual(["5", "2"]);
    expect(await sequences({ baseId: flow.id, actions: ["ASSIGNED"] })).toEqual(["4"]);
    expect(await sequences({ actorId: tenant.users.pub!.id })).toEqual(["5", "4", "3"]);
    expect(await sequences({ actorId: tenant.users.pub!.id, baseId: policy.id })).toEqual(["5"]);
    expect(await sequences({ from: beforeSecond.toISOString() })).toEqual(["6", "5", "4", "3"]);
    expect(await sequences({ to: beforeSecond.toISOString() })).toEqual(["2", "1"]);
    expect(await sequences({ from: beforeSecond.toISOString(), actions: ["CREATED"] })).toEqual(["3"]);
    const filtered = await gql("aud", EVENTS, { first: 1, filter: { actions: ["ASSIGNED"] } });
    expect(filtered.data.auditEvents.totalCount).toBe(3);
    expect(filtered.data.auditEvents.pageInfo.hasNextPage).toBe(true);
  });

  it("rejects malformed filters", async () => {
    expect(errorCodes(await gql("aud", EVENTS, { filter: { baseId: "nope" } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("aud", EVENTS, { filter: { from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("aud", EVENTS, { filter: { actions: ["NOT_AN_ACTION"] } }))).toEqual(["BAD_USER_INPUT"]);
  });

  it("is readable by admins, auditors and admin or audit keys only", async () => {
    // Admins and auditors (product §6); the rule itself lives in one place, src/authorization/actions.ts.
    for (const who of ["aud", "ada", "eve", "pub", "vic"]) {
      const user = tenant.users[who]!;
      const allowed = mayPerform({ kind: "user", tenantId: tenant.id, userId: user.id, roles: user.roles }, Action.ReadAudit);
      expect(allowed).toBe(who === "aud" || who === "ada");
      for (const query of [EVENTS, VERIFY]) {
        const response = await gql(who, query, { first: 1 });
        expect(errorCodes(response)).toEqual(allowed ? [] : ["FORBIDDEN"]);
      }
    }
    expect(errorCodes(await gql({}, EVENTS))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await gql({}, VERIFY))).toEqual(["UNAUTHENTICATED"]);
    for (const scopes of [["VIEW", "EDIT", "PUBLISH"], ["AUDIT"], ["ADMIN"]] as const) {
      const { key, id } = await createApiKey(gateway.database.prisma, tenant.id, [...scopes]);
      const allowed = mayPerform({ kind: "apiKey", tenantId: tenant.id, apiKeyId: id, scopes }, Action.ReadAudit);
      expect(allowed).toBe(scopes[0] === "AUDIT" || scopes[0] === "ADMIN");
      const response = await gql({ "x-api-key": key }, EVENTS, { first: 1 });
      expect(errorCodes(response)).toEqual(allowed ? [] : ["FORBIDDEN"]);
      if (allowed) expect(response.data.auditEvents.totalCount).toBe(6);
    }
  });

  it("keeps tenants apart", async () => {
    const auditor = await gateway.database.prisma.user.create({
      data: { tenantId: other.id, subject: `${other.slug}|aud`, email: `aud@${other.slug}.test`, name: "aud", roles: ["AUDITOR"] },
    });
    other.users.aud = { id: auditor.id, subject: auditor.subject, roles: ["AUDITOR"] };
    const theirs = await gql({ user: other.users.aud! }, EVENTS, { first: 100 });
    expect(theirs.data.auditEvents.totalCount).toBe(1);
    expect(theirs.data.auditEvents.edges[0].node).toMatchObject({ sequence: "1", action: "CREATED", actorId: other.users.bob!.id });
    // Filtering by another tenant's base or actor finds nothing.
    const crossed = await gql({ user: other.users.aud! }, EVENTS, { filter: { baseId: policy.id } });
    expect(crossed.data.auditEvents.totalCount).toBe(0);
  });

  it("verifies an intact chain", async () => {
    for (const who of ["ada", "aud"]) {
      const response = await gql(who, VERIFY);
      expect(response.errors).toBeUndefined();
      expect(response.data.verifyAuditChain).toEqual({ valid: true, checkedEvents: 6, firstBrokenSequence: null, reason: null });
    }
    const fresh = await createTenant(gateway.database.prisma, { au: ["AUDITOR"] });
    const empty = await gql({ user: fresh.users.au! }, VERIFY);
    expect(empty.data.verifyAuditChain).toEqual({ valid: true, checkedEvents: 0, firstBrokenSequence: null, reason: null });
  });
});

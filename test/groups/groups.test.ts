import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createApiKey,
  createTenant,
  errorCodes,
  type Fixtures,
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
let make: Fixtures;
let gql: GraphQLClient;

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, {
    ada: ["ADMIN"],
    eve: ["EDITOR"],
    ed2: ["EDITOR"],
    vic: ["VIEWER"],
    aud: ["AUDITOR"],
    none: [],
  });
  other = await createTenant(gateway.database.prisma, { bob: ["ADMIN"] });
  make = fixtures(gateway.database.prisma);
  gql = graphqlClient(gateway, tenant, other);
});
afterAll(() => gateway?.stop());

const CREATE = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id name description createdAt updatedAt } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { id name description } }`;
const DELETE = `mutation($id: ID!) { deleteGroup(id: $id) }`;
const ADD = `mutation($g: ID!, $b: ID!) { addGroupMember(groupId: $g, baseId: $b) { id } }`;
const REMOVE = `mutation($g: ID!, $b: ID!) { removeGroupMember(groupId: $g, baseId: $b) { id } }`;
const MEMBERS = `query($id: ID!, $first: Int, $after: String) {
  group(id: $id) {
    id name
    policies(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id name kind groups { id name } } } }
    flows { totalCount edges { node { id kind } } }
  }
}`;

async function createGroup(name: string, who = "eve", description?: string): Promise<string> {
  const response = await gql(who, CREATE, { input: { name, description } });
  expect(response.errors).toBeUndefined();
  return response.data.createGroup.id;
}

const groupEvents = (groupId: string) => gateway.database.prisma.auditEvent.findMany({ where: { groupId }, orderBy: { sequence: "asc" } });

describe("creating and editing groups", () => {
  it("lets editors create a group and records who did it", async () => {
    const response = await gql("eve", CREATE, { input: { name: "  Pricing  ", description: "Price rules" } });
    expect(response.errors).toBeUndefined();
    expect(response.data.createGroup).toMatchObject({ name: "Pricing", description: "Price rules" });
    const id = response.data.createGroup.id;
    const [event] = await groupEvents(id);
    expect(event).toMatchObject({
      action: "CREATED",
      resourceKind: "GROUP",
      groupId: id,
      actorType: "USER",
      actorId: tenant.users.eve!.id,
      detail: { name: "Pricing", description: "Price rules" },
    });
    const row = await gateway.database.prisma.group.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ tenantId: tenant.id, createdById: tenant.users.eve!.id });
  });

  it("refuses viewers, auditors, users without a role, view keys and anonymous callers", async () => {
    for (const who of ["vic", "aud", "none"]) {
      expect(errorCodes(await gql(who, CREATE, { input: { name: `nope-${who}` } }))).toEqual(["FORBIDDEN"]);
    }
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW", "AUDIT"]);
    expect(errorCodes(await gql({ "x-api-key": key }, CREATE, { input: { name: "nope-key" } }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await gql({}, CREATE, { input: { name: "nope-anon" } }))).toEqual(["UNAUTHENTICATED"]);
    expect(await gateway.database.prisma.group.count({ where: { name: { startsWith: "nope-" } } })).toBe(0);
  });

  it("lets an API key with the edit scope create a group, recorded as the key", async () => {
    const { id: keyId, key } = await createApiKey(gateway.database.prisma, tenant.id, ["EDIT"]);
    const response = await gql({ "x-api-key": key }, CREATE, { input: { name: "By key" } });
    expect(response.errors).toBeUndefined();
    const [event] = await groupEvents(response.data.createGroup.id);
    expect(event).toMatchObject({ actorType: "API_KEY", actorId: keyId });
  });

  it("validates the name and keeps names unique within a tenant", async () => {
    expect(errorCodes(await gql("eve", CREATE, { input: { name: "   " } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("eve", CREATE, { input: { name: "x".repeat(201) } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("eve", CREATE, { input: { name: "ok", description: "d".repeat(2001) } }))).toEqual(["BAD_USER_INPUT"]);
    for (const name of ["tab\there", "nul\u0000", "half \ud800"]) {
      expect(errorCodes(await gql("eve", CREATE, { input: { name } }))).toEqual(["BAD_USER_INPUT"]);
    }
    expect(errorCodes(await gql("eve", CREATE, { input: { name: "ok", description: "nul\u0000" } }))).toEqual(["BAD_USER_INPUT"]);
    const multiline = await gql("eve", CREATE, { input: { name: "Ünïcode 😀 name", description: "line one\nline two" } });
    expect(multiline.data.createGroup).toMatchObject({ name: "Ünïcode 😀 name", description: "line one\nline two" });
    await createGroup("Unique");
    const again = await gql("ed2", CREATE, { input: { name: "Unique" } });
    expect(errorCodes(again)).toEqual(["CONFLICT"]);
    // Another tenant may use the same name.
    expect((await gql("bob", CREATE, { input: { name: "Unique" } })).errors).toBeUndefined();
  });

  it("lets editors rename and re-describe a group, recording what changed", async () => {
    const id = await createGroup("Before", "eve", "old");
    const response = await gql("ed2", UPDATE, { id, input: { name: "After" } });
    expect(response.errors).toBeUndefined();
    expect(response.data.updateGroup).toEqual({ id, name: "After", description: "old" });
    const described = await gql("ed2", UPDATE, { id, input: { description: "new" } });
    expect(described.data.updateGroup).toEqual({ id, name: "After", description: "new" });
    // An update that changes nothing writes and records nothing.
    const same = await gql("eve", UPDATE, { id, input: { name: " After ", description: "new" } });
    expect(same.data.updateGroup).toEqual({ id, name: "After", description: "new" });
    const events = await groupEvents(id);
    expect(events.map((e) => [e.action, e.resourceKind])).toEqual([
      ["CREATED", "GROUP"],
      ["EDITED", "GROUP"],
      ["EDITED", "GROUP"],
    ]);
    expect(events[1]!.detail).toEqual({ changed: { name: { from: "Before", to: "After" } } });
    expect(events[2]!.detail).toEqual({ changed: { description: { from: "old", to: "new" } } });
    const row = await gateway.database.prisma.group.findUniqueOrThrow({ where: { id } });
    expect(row.updatedById).toBe(tenant.users.ed2!.id);
  });

  it("refuses empty updates, viewers, name clashes and foreign or unknown groups", async () => {
    const id = await createGroup("Edit target");
    await createGroup("Taken");
    expect(errorCodes(await gql("eve", UPDATE, { id, input: {} }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("vic", UPDATE, { id, input: { name: "x" } }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await gql("eve", UPDATE, { id, input: { name: "Taken" } }))).toEqual(["CONFLICT"]);
    expect(errorCodes(await gql("bob", UPDATE, { id, input: { name: "mine" } }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await gql("eve", UPDATE, { id: randomUUID(), input: { name: "x" } }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await gql("eve", UPDATE, { id: "not-a-uuid", input: { name: "x" } }))).toEqual(["NOT_FOUND"]);
    const row = await gateway.database.prisma.group.findUniqueOrThrow({ where: { id } });
    expect(row.name).toBe("Edit target");
  });
});

describe("reading groups", () => {
  let fresh: TestTenant;
  beforeAll(async () => {
    fresh = await createTenant(gateway.database.prisma, { ed: ["EDITOR"], vi: ["VIEWER"], au: ["AUDITOR"] });
    gql.signIn(fresh);
    for (const name of ["delta", "alpha", "echo", "charlie", "bravo"]) {
      expect((await gql("ed", CREATE, { input: { name } })).errors).toBeUndefined();
    }
  });

  it("shows every tenant member all of the tenant's groups, by name, a page at a time", async () => {
    const LIST = `query($first: Int, $after: String) { groups(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name } } } }`;
    for (const who of ["vi", "au"]) {
      const headers = await gql.headersOf(who);
      const names: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const response: any = await gql(headers, LIST, { first: 2, after });
        expect(response.errors).toBeUndefined();
        expect(response.data.groups.totalCount).toBe(5);
        names.push(...response.data.groups.edges.map((e: any) => e.node.name));
        pages += 1;
        if (!response.data.groups.pageInfo.hasNextPage) break;
        after = response.data.groups.pageInfo.endCursor;
      }
      expect(names).toEqual(["alpha", "bravo", "charlie", "delta", "echo"]);
      expect(pages).toBe(3);
    }
    const { key } = await createApiKey(gateway.database.prisma, fresh.id, ["VIEW"]);
    const byKey = await gql({ "x-api-key": key }, LIST, { first: 100 });
    expect(byKey.data.groups.totalCount).toBe(5);
  });

  it("never shows another tenant's groups, by listing or by ID", async () => {
    const list = await gql("vic", `{ groups(first: 100) { edges { node { id name } } } }`);
    const names = list.data.groups.edges.map((e: any) => e.node.name);
    expect(names).not.toContain("alpha");
    const theirs = await gql("vi", `{ groups(first: 1) { edges { node { id } } } }`);
    const id = theirs.data.groups.edges[0].node.id;
    expect(errorCodes(await gql("vic", `query($id: ID!) { group(id: $id) { id } }`, { id }))).toEqual(["NOT_FOUND"]);
    expect((await gql("vi", `query($id: ID!) { group(id: $id) { id } }`, { id })).data.group.id).toBe(id);
  });

  it("rejects a cursor it did not produce and out-of-range page sizes", async () => {
    const bad = await gql("vic", `{ groups(first: 2, after: "garbage") { totalCount } }`);
    expect(errorCodes(bad)).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("vic", `{ groups(first: 0) { totalCount } }`))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await gql("vic", `{ groups(first: 101) { totalCount } }`))).toEqual(["BAD_USER_INPUT"]);
    const id = (await gql("vi", `{ groups(first: 1) { edges { node { id } } } }`)).data.groups.edges[0].node.id;
    const members = await gql("vi", `query($id: ID!) { group(id: $id) { policies(after: "garbage") { totalCount } } }`, { id });
    expect(errorCodes(members)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("group members", () => {
  it("adds and removes policy and flow bases idempotently, recording each real change once", async () => {
    const groupId = await createGroup("Members");
    const policy = await make.base(tenant).ownedBy("eve").published().create();
    const flow = await make.base(tenant).flow().ownedBy("eve").published().create();

    for (let i = 0; i < 2; i++) {
      expect((await gql("ed2", ADD, { g: groupId, b: policy.id })).errors).toBeUndefined();
      expect((await gql("ed2", ADD, { g: groupId, b: flow.id })).errors).toBeUndefined();
    }
    expect(await gateway.database.prisma.groupMember.count({ where: { groupId } })).toBe(2);
    const read = await gql("vic", MEMBERS, { id: groupId });
    expect(read.errors).toBeUndefined();
    expect(read.data.group.policies.totalCount).toBe(1);
    expect(read.data.group.policies.edges[0].node).toMatchObject({ id: policy.id, kind: "POLICY", groups: [{ id: groupId, name: "Members" }] });
    expect(read.data.group.flows).toEqual({ totalCount: 1, edges: [{ node: { id: flow.id, kind: "FLOW" } }] });

    for (let i = 0; i < 2; i++) expect((await gql("eve", REMOVE, { g: groupId, b: policy.id })).errors).toBeUndefined();
    const after = await gql("vic", MEMBERS, { id: groupId });
    expect(after.data.group.policies.totalCount).toBe(0);
    expect(after.data.group.flows.totalCount).toBe(1);

    const events = (await groupEvents(groupId)).filter((e) => e.action === "ASSIGNED");
    expect(events.map((e) => ({ kind: e.resourceKind, base: e.baseId, group: e.groupId, change: (e.detail as any).membership, actor: e.actorId }))).toEqual([
      { kind: "POLICY", base: policy.id, group: groupId, change: "added", actor: tenant.users.ed2!.id },
      { kind: "FLOW", base: flow.id, group: groupId, change: "added", actor: tenant.users.ed2!.id },
      { kind: "POLICY", base: policy.id, group: groupId, change: "removed", actor: tenant.users.eve!.id },
    ]);
  });

  it("treats foreign, deleted, unknown and malformed bases and groups as missing", async () => {
    const groupId = await createGroup("Strict members");
    const foreign = await make.base(other).ownedBy("bob").published().create();
    const deleted = await make.base(tenant).ownedBy("eve").published().deleted().create();
    const mine = await make.base(tenant).ownedBy("eve").published().create();
    for (const b of [foreign.id, deleted.id, randomUUID(), "nope"]) {
      expect(errorCodes(await gql("eve", ADD, { g: groupId, b }))).toEqual(["NOT_FOUND"]);
      expect(errorCodes(await gql("eve", REMOVE, { g: groupId, b }))).toEqual(["NOT_FOUND"]);
    }
    const theirGroup = await gql("bob", CREATE, { input: { name: "Theirs" } });
    for (const g of [theirGroup.data.createGroup.id, randomUUID(), "nope"]) {
      expect(errorCodes(await gql("eve", ADD, { g, b: mine.id }))).toEqual(["NOT_FOUND"]);
    }
    // The other tenant cannot put our base into its group either.
    expect(errorCodes(await gql("bob", ADD, { g: theirGroup.data.createGroup.id, b: mine.id }))).toEqual(["NOT_FOUND"]);
    expect(await gateway.database.prisma.groupMember.count({ where: { groupId } })).toBe(0);
  });

  it("lets only editors and above change members", async () => {
    const groupId = await createGroup("Guarded");
    const base = await make.base(tenant).ownedBy("eve").published().create();
    for (const who of ["vic", "aud"]) expect(errorCodes(await gql(who, ADD, { g: groupId, b: base.id }))).toEqual(["FORBIDDEN"]);
    expect((await gql("ada", ADD, { g: groupId, b: base.id })).errors).toBeUndefined();
    expect(errorCodes(await gql("vic", REMOVE, { g: groupId, b: base.id }))).toEqual(["FORBIDDEN"]);
  });

  it("lists only the members the caller may see, never deleted ones, a page at a time", async () => {
    const groupId = await createGroup("Visibility");
    const eveId = tenant.users.eve!.id;
    const shared = [];
    for (const name of ["p-c", "p-a", "p-e", "p-b", "p-d"]) shared.push(await make.base(tenant).named(name).ownedBy(eveId).published().create());
    const eveDraft = await make.base(tenant).named("p-private").ownedBy(eveId).create();
    const gone = await make.base(tenant).named("p-gone").ownedBy(eveId).published().create();
    for (const base of [...shared, eveDraft, gone]) expect((await gql("eve", ADD, { g: groupId, b: base.id })).errors).toBeUndefined();
    await gateway.database.prisma.base.update({ where: { id: gone.id }, data: { deletedAt: new Date() } });

    const pageThrough = async (who: string) => {
      const names: string[] = [];
      let after: string | null = null;
      let total = -1;
      for (;;) {
        const response: any = await gql(who, MEMBERS, { id: groupId, first: 2, after });
        expect(response.errors).toBeUndefined();
        total = response.data.group.policies.totalCount;
        names.push(...response.data.group.policies.edges.map((e: any) => e.node.name));
        if (!response.data.group.policies.pageInfo.hasNextPage) break;
        after = response.data.group.policies.pageInfo.endCursor;
      }
      return { names, total };
    };
    // The owner sees her unpublished base; everyone else sees only organisation-owned ones.
    expect(await pageThrough("eve")).toEqual({ names: ["p-a", "p-b", "p-c", "p-d", "p-e", "p-private"], total: 6 });
    expect(await pageThrough("vic")).toEqual({ names: ["p-a", "p-b", "p-c", "p-d", "p-e"], total: 5 });
    expect(await pageThrough("ada")).toEqual({ names: ["p-a", "p-b", "p-c", "p-d", "p-e"], total: 5 });
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    const byKey = await gql({ "x-api-key": key }, MEMBERS, { id: groupId, first: 10 });
    expect(byKey.data.group.policies.totalCount).toBe(5);
  });

  it("shows a base's groups, for many bases at once", async () => {
    const first = await createGroup("G-one");
    const second = await createGroup("G-two");
    const holder = await createGroup("G-holder");
    const bases = [];
    for (let i = 0; i < 12; i++)
      bases.push(
        await make
          .base(tenant)
          .named(`multi-${String(i).padStart(2, "0")}`)
          .ownedBy("eve")
          .published()
          .create(),
      );
    for (const [i, base] of bases.entries()) {
      await gql("eve", ADD, { g: holder, b: base.id });
      if (i % 2 === 0) await gql("eve", ADD, { g: first, b: base.id });
      if (i % 3 === 0) await gql("eve", ADD, { g: second, b: base.id });
    }
    const response = await gql("vic", MEMBERS, { id: holder, first: 50 });
    expect(response.errors).toBeUndefined();
    const groupsByName = Object.fromEntries(response.data.group.policies.edges.map((e: any) => [e.node.name, e.node.groups.map((g: any) => g.name)]));
    expect(groupsByName["multi-00"]).toEqual(["G-holder", "G-one", "G-two"]);
    expect(groupsByName["multi-01"]).toEqual(["G-holder"]);
    expect(groupsByName["multi-02"]).toEqual(["G-holder", "G-one"]);
    expect(groupsByName["multi-03"]).toEqual(["G-holder", "G-two"]);
  });
});

describe("deleting groups", () => {
  it("lets only admins delete a group; memberships go, bases stay", async () => {
    const groupId = await createGroup("Doomed");
    const keepId = await createGroup("Keeper");
    const base = await make.base(tenant).ownedBy("eve").published().create();
    await gql("eve", ADD, { g: groupId, b: base.id });
    await gql("eve", ADD, { g: keepId, b: base.id });

    for (const who of ["eve", "vic", "aud"]) expect(errorCodes(await gql(who, DELETE, { id: groupId }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await gql("bob", DELETE, { id: groupId }))).toEqual(["NOT_FOUND"]);

    const response = await gql("ada", DELETE, { id: groupId });
    expect(response.errors).toBeUndefined();
    expect(response.data.deleteGroup).toBe(groupId);
    expect(errorCodes(await gql("vic", `query($id: ID!) { group(id: $id) { id } }`, { id: groupId }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await gql("ada", DELETE, { id: groupId }))).toEqual(["NOT_FOUND"]);
    expect(await gateway.database.prisma.groupMember.count({ where: { groupId } })).toBe(0);
    expect(await gateway.database.prisma.base.findUnique({ where: { id: base.id } })).toMatchObject({ id: base.id, deletedAt: null });

    const kept = await gql("vic", MEMBERS, { id: keepId });
    expect(kept.data.group.policies.edges[0].node.groups.map((g: any) => g.name)).toEqual(["Keeper"]);

    const events = await groupEvents(groupId);
    expect(events.at(-1)).toMatchObject({
      action: "DELETED",
      resourceKind: "GROUP",
      actorId: tenant.users.ada!.id,
      detail: { name: "Doomed", removedMemberships: 1 },
    });
  });
});

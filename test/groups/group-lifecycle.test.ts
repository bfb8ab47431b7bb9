import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCodes, type Fixtures, fixtures, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway, type TestTenant } from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
let make: Fixtures;
let gql: GraphQLClient;

beforeAll(async () => {
  gateway = await startTestGateway();
  make = fixtures(gateway.database.prisma);
  tenant = await make.tenant().user("ada", "ADMIN").user("eve", "EDITOR").user("vic", "VIEWER").create();
  gql = graphqlClient(gateway, tenant);
});
afterAll(() => gateway?.stop());

const CREATE_GROUP = `mutation($name: String!) { createGroup(input: { name: $name }) { id } }`;
const ADD = `mutation($g: ID!, $b: ID!) { addGroupMember(groupId: $g, baseId: $b) { id } }`;
const MEMBERS = `query($id: ID!) { group(id: $id) { policies(first: 100) { totalCount edges { node { id name groups { name } } } } } }`;

describe("groups and the base lifecycle", () => {
  it("hide a deleted base from group listings and show it again once restored", async () => {
    const groupId = (await gql("eve", CREATE_GROUP, { name: "Lifecycle" })).data.createGroup.id;
    const created = await gql("eve", `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`, {
      input: { name: "Refunds", content: "A **refund** is approved if the __amount__ of the **refund** is no more than 100." },
    });
    expect(created.errors).toBeUndefined();
    const baseId = created.data.createPolicy.base.id;
    const published = await gql("ada", `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: created.data.createPolicy.id, description: "first" },
    });
    expect(published.errors?.[0]?.message).toBeUndefined();
    expect((await gql("eve", ADD, { g: groupId, b: baseId })).errors).toBeUndefined();
    expect((await gql("vic", MEMBERS, { id: groupId })).data.group.policies.totalCount).toBe(1);

    expect((await gql("ada", `mutation($id: ID!) { deleteBase(id: $id) { id } }`, { id: baseId })).errors).toBeUndefined();
    expect((await gql("vic", MEMBERS, { id: groupId })).data.group.policies).toEqual({ totalCount: 0, edges: [] });
    expect(errorCodes(await gql("eve", ADD, { g: groupId, b: baseId }))).toEqual(["NOT_FOUND"]);

    expect((await gql("ada", `mutation($id: ID!) { restoreBase(id: $id) { id } }`, { id: baseId })).errors).toBeUndefined();
    const back = await gql("vic", MEMBERS, { id: groupId });
    expect(back.data.group.policies).toEqual({ totalCount: 1, edges: [{ node: { id: baseId, name: "Refunds", groups: [{ name: "Lifecycle" }] } }] });
  });
});

describe("concurrent membership changes", () => {
  it("add the same base at once exactly one time, recorded once", async () => {
    const groupId = (await gql("eve", CREATE_GROUP, { name: "Racing" })).data.createGroup.id;
    const base = await make.base(tenant).ownedBy("eve").published().create();
    const responses = await Promise.all(Array.from({ length: 12 }, () => gql("eve", ADD, { g: groupId, b: base.id })));
    expect(responses.flatMap((r) => errorCodes(r))).toEqual([]);
    expect(await gateway.database.prisma.groupMember.count({ where: { groupId } })).toBe(1);
    expect(await gateway.database.prisma.auditEvent.count({ where: { groupId, action: "ASSIGNED" } })).toBe(1);
  });

  it("race a group's deletion cleanly: each addition either lands before it or finds no group", async () => {
    const groupId = (await gql("eve", CREATE_GROUP, { name: "Doomed race" })).data.createGroup.id;
    const bases = [];
    for (let i = 0; i < 15; i++) bases.push(await make.base(tenant).ownedBy("eve").published().create());
    const eve = await gql.headersOf("eve");
    const ada = await gql.headersOf("ada");
    const adds = bases.map((b) => gql(eve, ADD, { g: groupId, b: b.id }));
    const deletion = gql(ada, `mutation($id: ID!) { deleteGroup(id: $id) }`, { id: groupId });
    const [deleted, ...added] = await Promise.all([deletion, ...adds]);
    expect(deleted.errors).toBeUndefined();
    for (const response of added) expect(errorCodes(response)).toEqual(response.errors ? ["NOT_FOUND"] : []);
    expect(await gateway.database.prisma.groupMember.count({ where: { groupId } })).toBe(0);
    // Every addition that succeeded was recorded before the deletion, which counted it.
    const events = await gateway.database.prisma.auditEvent.findMany({ where: { groupId }, orderBy: { sequence: "asc" } });
    const assigned = events.filter((e) => e.action === "ASSIGNED").length;
    expect(assigned).toBe(added.filter((r) => !r.errors).length);
    expect(events.at(-1)).toMatchObject({ action: "DELETED", detail: { removedMemberships: assigned } });
  });
});

import "reflect-metadata";
import { OPERATOR } from "../../src/identity/actor.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialRoleFor } from "../../src/modules/identity/user.service.js";
import { graphql, startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.stop());

describe("UserService provisioning", () => {
  it("makes the first user of a tenant its admin and later ones viewers", async () => {
    const users = gateway.services.users;
    const t = await users.createTenant("acme", "Acme Ltd");
    const first = await users.addUser(OPERATOR, { tenantId: t.id, email: "First@Acme.test", name: "First" });
    const second = await users.addUser(OPERATOR, { tenantId: t.id, email: "second@acme.test", name: "Second" });
    const third = await users.addUser(OPERATOR, { tenantId: t.id, email: "third@acme.test", name: "Third", extraRoles: ["EDITOR"] });
    expect([first.roles, second.roles, third.roles]).toEqual([["ADMIN"], ["VIEWER"], ["VIEWER", "EDITOR"]]);
    expect(first.email).toBe("first@acme.test");
    expect(first.subject).toBe(first.id); // embedded tokens name the user by id
    // The rule is per tenant.
    const t2 = await users.createTenant("globex", "Globex");
    expect((await users.addUser(OPERATOR, { tenantId: t2.id, email: "x@globex.test", name: "X" })).roles).toEqual(["ADMIN"]);
    // And the new users can authenticate at once.
    const me = await graphql(gateway.url, `{ viewer { user { roles } } }`, {}, { authorization: `Bearer ${await gateway.tokenFor(first.subject)}` });
    expect(me.data.viewer.user.roles).toEqual(["ADMIN"]);
    const created = await gateway.database.prisma.auditEvent.findMany({ where: { tenantId: t.id, action: "CREATED", resourceKind: "USER" } });
    expect(created).toHaveLength(3);
    expect(created[0]).toMatchObject({ actorType: "SYSTEM", detail: { firstUser: true, roles: ["ADMIN"] } });
  });

  it("gives exactly one admin when the first users of a tenant arrive at the same time", async () => {
    const users = gateway.services.users;
    const t = await users.createTenant("race", "Race");
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) => users.addUser(OPERATOR, { tenantId: t.id, email: `u${i}@race.test`, name: `U${i}` })),
    );
    expect(created.filter((u) => u.roles.includes("ADMIN"))).toHaveLength(1);
    expect(created.filter((u) => u.roles.join() === "VIEWER")).toHaveLength(5);
  });

  it("refuses duplicates and bad input with domain errors", async () => {
    const users = gateway.services.users;
    await expect(users.createTenant("acme", "Again")).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(users.createTenant("Bad Slug", "x")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    const t = await users.findTenant("acme");
    await expect(users.addUser(OPERATOR, { tenantId: t.id, email: "FIRST@acme.test", name: "Dup" })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(users.addUser(OPERATOR, { tenantId: t.id, email: "not-an-email", name: "x" })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(users.findTenant("missing")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("the rule itself", () => {
    expect(initialRoleFor(0)).toBe("ADMIN");
    expect(initialRoleFor(1)).toBe("VIEWER");
    expect(initialRoleFor(99)).toBe("VIEWER");
  });

  it("a principal provisioning users needs to manage roles and hold the roles it hands out", async () => {
    const users = gateway.services.users;
    const t = await users.findTenant("acme");
    const admin = await users.findUser(t.id, "first@acme.test");
    const principal = { kind: "user" as const, tenantId: t.id, userId: admin.id, roles: admin.roles };
    const editor = { ...principal, roles: ["EDITOR" as const] };
    await expect(users.addUser(editor, { tenantId: t.id, email: "aud@acme.test", name: "A", extraRoles: ["EDITOR"] })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    const keyWithoutAdmin = { kind: "apiKey" as const, tenantId: t.id, apiKeyId: "k", scopes: ["EDIT" as const] };
    await expect(users.addUser(keyWithoutAdmin, { tenantId: t.id, email: "aud@acme.test", name: "A" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await users.addUser(principal, { tenantId: t.id, email: "ed@acme.test", name: "E", extraRoles: ["EDITOR"] })).roles).toEqual(["VIEWER", "EDITOR"]);
    const stranger = { ...principal, tenantId: (await users.findTenant("globex")).id };
    await expect(users.addUser(stranger, { tenantId: t.id, email: "z@acme.test", name: "Z" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rolesNotHeld, scopesNotHeld } from "../../src/authorization/grants.js";
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
  tenant = await createTenant(gateway.database.prisma, {
    ada: ["ADMIN"],
    alice: ["ADMIN", "AUDITOR"],
    ed: ["EDITOR"],
    vic: ["VIEWER"],
    pat: ["PUBLISHER"],
  });
  other = await createTenant(gateway.database.prisma, { oscar: ["ADMIN"], olga: ["VIEWER"] });
  gql = graphqlClient(gateway);
});
afterAll(() => gateway?.stop());

const ASSIGN = `mutation($userId: ID!, $roles: [Role!]!) { assignRoles(userId: $userId, roles: $roles) { id roles } }`;
const REMOVE = `mutation($userId: ID!, $roles: [Role!]!) { removeRoles(userId: $userId, roles: $roles) { id roles } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secretShownOnce apiKey { id name prefix scopes expiresAt createdById revokedAt } } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const TRANSFER = `mutation($baseId: ID!, $toUserId: ID!) { transferOwnership(baseId: $baseId, toUserId: $toUserId) { id ownership } }`;

const auditEvents = (tenantId: string, action: "ASSIGNED" | "KEY_CREATED" | "KEY_REVOKED" | "CREATED") =>
  gateway.database.prisma.auditEvent.findMany({ where: { tenantId, action }, orderBy: { sequence: "asc" } });

describe("roles", () => {
  it("apply to the next request: a role change is never answered from a cached user", async () => {
    const t = await createTenant(gateway.database.prisma, { boss: ["ADMIN"], newbie: ["VIEWER"] });
    const newbie = { user: t.users.newbie! };
    expect(errorCodes(await gql(newbie, `{ apiKeys { totalCount } }`, {}))).toEqual(["FORBIDDEN"]);
    const promoted = await gql({ user: t.users.boss! }, ASSIGN, { userId: t.users.newbie!.id, roles: ["ADMIN"] });
    expect(promoted.data.assignRoles.roles).toEqual(["VIEWER", "ADMIN"]);
    const after = await gql(newbie, `{ apiKeys { totalCount } viewer { user { roles } } }`, {});
    expect(after.errors).toBeUndefined();
    expect(after.data.viewer.user.roles).toEqual(["VIEWER", "ADMIN"]);
    // And a change made directly in the database (another process, the CLI) too.
    await gateway.database.prisma.user.update({ where: { id: t.users.newbie!.id }, data: { roles: ["VIEWER"] } });
    expect(errorCodes(await gql(newbie, `{ apiKeys { totalCount } }`, {}))).toEqual(["FORBIDDEN"]);
  });

  it("an admin assigns and removes roles, each change audited in the same transaction", async () => {
    const admin = { user: tenant.users.ada! };
    const assigned = await gql(admin, ASSIGN, { userId: tenant.users.vic!.id, roles: ["EDITOR", "PUBLISHER"] });
    expect(assigned.data.assignRoles.roles).toEqual(["VIEWER", "EDITOR", "PUBLISHER"]);
    const removed = await gql(admin, REMOVE, { userId: tenant.users.vic!.id, roles: ["EDITOR", "PUBLISHER"] });
    expect(removed.data.removeRoles.roles).toEqual(["VIEWER"]);
    const events = (await auditEvents(tenant.id, "ASSIGNED")).filter((e) => (e.detail as { userId?: string }).userId === tenant.users.vic!.id);
    expect(events.map((e) => [e.actorType, e.actorId, e.resourceKind, e.detail])).toEqual([
      ["USER", tenant.users.ada!.id, "USER", { userId: tenant.users.vic!.id, added: ["EDITOR", "PUBLISHER"], roles: ["VIEWER", "EDITOR", "PUBLISHER"] }],
      ["USER", tenant.users.ada!.id, "USER", { userId: tenant.users.vic!.id, removed: ["EDITOR", "PUBLISHER"], roles: ["VIEWER"] }],
    ]);
  });

  it("nobody grants or removes a role they do not hold", async () => {
    // Holding is judged on actions: an admin holds every role (auditor included: admins read the audit log),
    // an editor holds viewer and editor but may not manage roles at all.
    const admin = { kind: "user" as const, tenantId: tenant.id, userId: tenant.users.ada!.id, roles: ["ADMIN" as const] };
    const editor = { kind: "user" as const, tenantId: tenant.id, userId: tenant.users.ed!.id, roles: ["EDITOR" as const] };
    const viewKey = { kind: "apiKey" as const, tenantId: tenant.id, apiKeyId: "k", scopes: ["VIEW" as const, "EDIT" as const] };
    expect(rolesNotHeld(admin, ["VIEWER", "EDITOR", "PUBLISHER", "ADMIN", "AUDITOR"])).toEqual([]);
    expect(rolesNotHeld(editor, ["VIEWER", "EDITOR", "PUBLISHER", "ADMIN", "AUDITOR"])).toEqual(["PUBLISHER", "ADMIN", "AUDITOR"]);
    expect(scopesNotHeld(viewKey, ["VIEW", "EDIT", "PUBLISH", "ADMIN", "AUDIT"])).toEqual(["PUBLISH", "ADMIN", "AUDIT"]);
    expect(rolesNotHeld({ ...editor, roles: ["AUDITOR"] }, ["VIEWER"])).toEqual(["VIEWER"]); // auditors may not run

    // Through the API: only role managers change roles, not even roles they hold themselves.
    for (const name of ["ed", "pat", "vic"]) {
      const own = tenant.users[name]!.roles;
      expect(errorCodes(await gql({ user: tenant.users[name]! }, ASSIGN, { userId: tenant.users.vic!.id, roles: own }))).toEqual(["FORBIDDEN"]);
      expect(errorCodes(await gql({ user: tenant.users[name]! }, ASSIGN, { userId: tenant.users[name]!.id, roles: ["ADMIN"] }))).toEqual(["FORBIDDEN"]);
      expect(errorCodes(await gql({ user: tenant.users[name]! }, REMOVE, { userId: tenant.users.ada!.id, roles: ["ADMIN"] }))).toEqual(["FORBIDDEN"]);
    }
    // And the services refuse it too, whatever path calls them.
    await expect(gateway.services.users.assignRoles(editor, tenant.id, tenant.users.vic!.id, ["EDITOR"])).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(gateway.services.apiKeys.create(viewKey, tenant.id, { name: "x", scopes: ["VIEW"] })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await gateway.database.prisma.user.findUniqueOrThrow({ where: { id: tenant.users.vic!.id } })).roles).toEqual(["VIEWER"]);
    expect((await gateway.database.prisma.user.findUniqueOrThrow({ where: { id: tenant.users.ada!.id } })).roles).toEqual(["ADMIN"]);
    // An admin may grant the auditor role.
    const ok = await gql({ user: tenant.users.ada! }, ASSIGN, { userId: tenant.users.vic!.id, roles: ["AUDITOR"] });
    expect(ok.data.assignRoles.roles).toEqual(["VIEWER", "AUDITOR"]);
    await gql({ user: tenant.users.ada! }, REMOVE, { userId: tenant.users.vic!.id, roles: ["AUDITOR"] });
  });

  it("an API key with the admin scope manages roles, audited as the key", async () => {
    const { key, id } = await createApiKey(gateway.database.prisma, tenant.id, ["ADMIN"]);
    const ok = await gql({ "x-api-key": key }, ASSIGN, { userId: tenant.users.ed!.id, roles: ["PUBLISHER"] });
    expect(ok.data.assignRoles.roles).toEqual(["EDITOR", "PUBLISHER"]);
    const [event] = (await auditEvents(tenant.id, "ASSIGNED")).slice(-1);
    expect(event).toMatchObject({ actorType: "API_KEY", actorId: id });
    await gql({ "x-api-key": key }, REMOVE, { userId: tenant.users.ed!.id, roles: ["PUBLISHER"] });
    const { key: editKey } = await createApiKey(gateway.database.prisma, tenant.id, ["EDIT", "PUBLISH"]);
    expect(errorCodes(await gql({ "x-api-key": editKey }, ASSIGN, { userId: tenant.users.ed!.id, roles: ["EDITOR"] }))).toEqual(["FORBIDDEN"]);
  });

  it("a user of another tenant behaves exactly like a missing one", async () => {
    const admin = { user: tenant.users.ada! };
    const foreign = await gql(admin, ASSIGN, { userId: other.users.olga!.id, roles: ["EDITOR"] });
    const missing = await gql(admin, ASSIGN, { userId: "00000000-0000-4000-8000-000000000000", roles: ["EDITOR"] });
    const garbage = await gql(admin, ASSIGN, { userId: "not-a-uuid", roles: ["EDITOR"] });
    for (const response of [foreign, missing, garbage]) expect(errorCodes(response)).toEqual(["NOT_FOUND"]);
    expect(foreign.errors![0]!.message.replace(other.users.olga!.id, "X")).toBe(
      missing.errors![0]!.message.replace("00000000-0000-4000-8000-000000000000", "X"),
    );
    expect((await gateway.database.prisma.user.findUniqueOrThrow({ where: { id: other.users.olga!.id } })).roles).toEqual(["VIEWER"]);
  });

  it("the last admin of a tenant cannot lose ADMIN", async () => {
    const t = await createTenant(gateway.database.prisma, { solo: ["ADMIN"], helper: ["VIEWER"] });
    const solo = { user: t.users.solo! };
    const refused = await gql(solo, REMOVE, { userId: t.users.solo!.id, roles: ["ADMIN"] });
    expect(errorCodes(refused)).toEqual(["CONFLICT"]);
    await gql(solo, ASSIGN, { userId: t.users.helper!.id, roles: ["ADMIN"] });
    const allowed = await gql(solo, REMOVE, { userId: t.users.solo!.id, roles: ["ADMIN"] });
    expect(allowed.data.removeRoles.roles).toEqual([]);
  });

  it("validates the role list", async () => {
    const response = await gql({ user: tenant.users.ada! }, ASSIGN, { userId: tenant.users.vic!.id, roles: [] });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("API key administration", () => {
  it("creates a key whose secret is shown once and works, then revokes it; both audited", async () => {
    const admin = { user: tenant.users.ada! };
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await gql(admin, CREATE_KEY, { input: { name: "deploy bot", scopes: ["VIEW", "EDIT"], expiresAt } });
    expect(created.errors).toBeUndefined();
    const { secretShownOnce, apiKey } = created.data.createApiKey;
    expect(secretShownOnce).toMatch(/^vdk_/);
    expect(secretShownOnce).toContain(`vdk_${tenant.id.replaceAll("-", "")}_${apiKey.prefix}_`); // the tenant is the routing hint
    expect(apiKey).toMatchObject({ name: "deploy bot", scopes: ["VIEW", "EDIT"], expiresAt, createdById: tenant.users.ada!.id, revokedAt: null });

    const me = await gql({ "x-api-key": secretShownOnce }, `{ viewer { scopes tenant { id } } }`, {});
    expect(me.data.viewer).toEqual({ scopes: ["VIEW", "EDIT"], tenant: { id: tenant.id } });

    // Lists never carry the secret (nor its hash).
    const listed = await gql(admin, `{ apiKeys(first: 100) { totalCount edges { node { id prefix scopes lastUsedAt } } } }`, {});
    expect(listed.data.apiKeys.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(apiKey.id);
    const hash = (await gateway.database.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).secretHash;
    expect(JSON.stringify(listed)).not.toContain(secretShownOnce.slice(18, 50));
    expect(JSON.stringify(listed)).not.toContain(hash);

    const revoked = await gql(admin, REVOKE_KEY, { id: apiKey.id });
    expect(revoked.data.revokeApiKey.revokedAt).toBeTruthy();
    expect(errorCodes(await gql(admin, REVOKE_KEY, { id: apiKey.id }))).toEqual(["CONFLICT"]);
    const after = await gql(admin, `{ apiKeys(first: 100) { edges { node { id } } } }`, {});
    expect(after.data.apiKeys.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(apiKey.id);
    const withRevoked = await gql(admin, `{ apiKeys(first: 100, includeRevoked: true) { edges { node { id revokedAt } } } }`, {});
    expect(withRevoked.data.apiKeys.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(apiKey.id);

    const created_ = (await auditEvents(tenant.id, "KEY_CREATED")).find((e) => (e.detail as { apiKeyId?: string }).apiKeyId === apiKey.id);
    const revoked_ = (await auditEvents(tenant.id, "KEY_REVOKED")).find((e) => (e.detail as { apiKeyId?: string }).apiKeyId === apiKey.id);
    expect(created_).toMatchObject({ resourceKind: "API_KEY", actorType: "USER", actorId: tenant.users.ada!.id });
    expect(revoked_).toMatchObject({ resourceKind: "API_KEY", actorType: "USER", actorId: tenant.users.ada!.id });
    expect(JSON.stringify(created_!.detail)).not.toContain(secretShownOnce.slice(18, 50));
  });

  it("only key managers issue keys, and an admin key may issue narrower ones", async () => {
    const allowed = await gql({ user: tenant.users.ada! }, CREATE_KEY, { input: { name: "x", scopes: ["AUDIT"] } });
    expect(allowed.data.createApiKey.apiKey.scopes).toEqual(["AUDIT"]);
    const { key: adminKey } = await createApiKey(gateway.database.prisma, tenant.id, ["ADMIN"]);
    const byKey = await gql({ "x-api-key": adminKey }, CREATE_KEY, { input: { name: "child", scopes: ["PUBLISH"] } });
    expect(byKey.data.createApiKey.apiKey).toMatchObject({ scopes: ["PUBLISH"], createdById: null });
    for (const name of ["ed", "pat", "vic"]) {
      expect(errorCodes(await gql({ user: tenant.users[name]! }, CREATE_KEY, { input: { name: "x", scopes: ["VIEW"] } }))).toEqual(["FORBIDDEN"]);
    }
    const { key: publishKey } = await createApiKey(gateway.database.prisma, tenant.id, ["PUBLISH"]);
    expect(errorCodes(await gql({ "x-api-key": publishKey }, CREATE_KEY, { input: { name: "x", scopes: ["VIEW"] } }))).toEqual(["FORBIDDEN"]);
  });

  it("has no field that could carry a secret or its hash, anywhere but the one-time creation result", async () => {
    const response = await gql({}, `{ __schema { types { name fields { name } } } }`, {});
    const offending = response.data.__schema.types.flatMap((t: { name: string; fields: { name: string }[] | null }) =>
      (t.fields ?? []).filter((f) => /secret|hash/i.test(f.name)).map((f) => `${t.name}.${f.name}`),
    );
    // The audit log's own chain hashes are not secrets.
    expect(offending.filter((f: string) => !f.startsWith("AuditEvent.") && !f.startsWith("AuditChainVerification."))).toEqual([
      "CreatedApiKey.secretShownOnce",
    ]);
  });

  it("validates name, scopes and expiry", async () => {
    const admin = { user: tenant.users.ada! };
    for (const input of [
      { name: "", scopes: ["VIEW"] },
      { name: "x", scopes: [] },
      { name: "x", scopes: ["VIEW"], expiresAt: new Date(Date.now() - 60_000).toISOString() },
    ]) {
      expect(errorCodes(await gql(admin, CREATE_KEY, { input }))).toEqual(["BAD_USER_INPUT"]);
    }
  });

  it("a key of another tenant behaves exactly like a missing one", async () => {
    const { id } = await createApiKey(gateway.database.prisma, other.id, ["VIEW"]);
    expect(errorCodes(await gql({ user: tenant.users.ada! }, REVOKE_KEY, { id }))).toEqual(["NOT_FOUND"]);
    expect((await gateway.database.prisma.apiKey.findUniqueOrThrow({ where: { id } })).revokedAt).toBeNull();
    const foreignList = await gql({ user: tenant.users.ada! }, `{ apiKeys(first: 100) { edges { node { id } } } }`, {});
    expect(foreignList.data.apiKeys.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(id);
  });

  it("pages through keys and users without repeats", async () => {
    const t = await createTenant(gateway.database.prisma, { a1: ["ADMIN"], a2: ["VIEWER"], a3: ["VIEWER"] });
    for (let i = 0; i < 5; i++) await createApiKey(gateway.database.prisma, t.id, ["VIEW"]);
    const admin = { user: t.users.a1! };
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await gql(
        admin,
        `query($after: String) { apiKeys(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
        { after },
      );
      expect(page.data.apiKeys.totalCount).toBe(5);
      seen.push(...page.data.apiKeys.edges.map((e: { node: { id: string } }) => e.node.id));
      after = page.data.apiKeys.pageInfo.hasNextPage ? page.data.apiKeys.pageInfo.endCursor : null;
    } while (after);
    expect(new Set(seen).size).toBe(5);
    const users = await gql(admin, `{ users(first: 2) { totalCount edges { node { email roles } } pageInfo { hasNextPage } } }`, {});
    expect(users.data.users.totalCount).toBe(3);
    expect(users.data.users.edges.map((e: any) => e.node.email)).toEqual([`a1@${t.slug}.test`, `a2@${t.slug}.test`]);
    expect(errorCodes(await gql({ user: t.users.a2! }, `{ users { totalCount } }`, {}))).toEqual(["FORBIDDEN"]);
  });
});

describe("ownership transfer", () => {
  it("moves a never-published base to another user of the tenant, audited", async () => {
    const { id: baseId } = await fixtures(gateway.database.prisma).base(tenant).ownedBy("ed").create();
    const response = await gql({ user: tenant.users.ada! }, TRANSFER, { baseId, toUserId: tenant.users.pat!.id });
    expect(response.data.transferOwnership).toEqual({ id: baseId, ownership: "USER_OWNED" });
    const base = await gateway.database.prisma.base.findUniqueOrThrow({ where: { id: baseId } });
    expect(base.ownerId).toBe(tenant.users.pat!.id);
    expect(base.updatedById).toBe(tenant.users.ada!.id);
    const event = (await auditEvents(tenant.id, "ASSIGNED")).find((e) => e.baseId === baseId);
    expect(event).toMatchObject({ resourceKind: "POLICY", detail: { fromUserId: tenant.users.ed!.id, toUserId: tenant.users.pat!.id } });
  });

  it("refuses published bases with CONFLICT, and treats deleted, foreign and missing ones as NOT_FOUND", async () => {
    const admin = { user: tenant.users.ada! };
    const make = fixtures(gateway.database.prisma);
    const published = await make.base(tenant).flow().ownedBy("ed").versions().create();
    expect(errorCodes(await gql(admin, TRANSFER, { baseId: published.id, toUserId: tenant.users.pat!.id }))).toEqual(["CONFLICT"]);
    const deleted = await make.base(tenant).ownedBy("ed").versions().deleted().create();
    const foreign = await make.base(other).ownedBy("olga").create();
    for (const baseId of [deleted.id, foreign.id, "00000000-0000-4000-8000-000000000000", "nope"]) {
      expect(errorCodes(await gql(admin, TRANSFER, { baseId, toUserId: tenant.users.pat!.id }))).toEqual(["NOT_FOUND"]);
    }
    expect((await gateway.database.prisma.base.findUniqueOrThrow({ where: { id: foreign.id } })).ownerId).toBe(other.users.olga!.id);
  });

  it("refuses a target user outside the tenant with NOT_FOUND, and non-admins with FORBIDDEN", async () => {
    const { id: baseId } = await fixtures(gateway.database.prisma).base(tenant).ownedBy("ed").create();
    expect(errorCodes(await gql({ user: tenant.users.ada! }, TRANSFER, { baseId, toUserId: other.users.olga!.id }))).toEqual(["NOT_FOUND"]);
    for (const name of ["ed", "pat", "vic"]) {
      expect(errorCodes(await gql({ user: tenant.users[name]! }, TRANSFER, { baseId, toUserId: tenant.users.pat!.id }))).toEqual(["FORBIDDEN"]);
    }
    expect((await gateway.database.prisma.base.findUniqueOrThrow({ where: { id: baseId } })).ownerId).toBe(tenant.users.ed!.id);
  });
});

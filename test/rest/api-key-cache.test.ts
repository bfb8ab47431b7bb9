import { afterAll, beforeAll, expect, it } from "vitest";
import { OPERATOR } from "../../src/identity/actor.js";
import { createAuthenticator } from "../../src/identity/authenticate.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { graphql, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { post } from "../support/kit.js";

/**
 * Authentication keeps recently used key rows in memory (src/identity/announced-row-cache.ts). A revocation must
 * still win at once: on the next request, in the process that revoked and in every other one.
 */
let a: TestGateway;
let b: TestGateway;
let tenant: TestTenant;
let admin: Record<string, string>;

beforeAll(async () => {
  a = await startTestGateway();
  b = await startTestGateway({}, a.db);
  tenant = await createTenant(a.database.prisma, { admin: ["ADMIN"] });
  admin = { authorization: `Bearer ${await a.tokenFor(tenant.users.admin!.subject)}` };
});
afterAll(async () => {
  await b?.close();
  await a?.stop();
});

const run = (url: string, key: string) => post(url, "/run", { rule: op.AGE_POLICY, data: { Person: { age: 30 } } }, { key });
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;

it("serves a busy key from memory without reading its row again", async () => {
  const { key, id } = await createApiKey(a.database.prisma, tenant.id, ["VIEW"]);
  expect((await run(a.url, key)).status).toBe(200);
  expect((await run(a.url, key)).status).toBe(200);
  // Change the row behind the services' back (no announcement): the cached row still answers...
  await a.database.prisma.apiKey.update({ where: { id }, data: { scopes: ["AUDIT"] } });
  expect((await run(a.url, key)).status).toBe(200);
  // ...while a process that has not cached it reads the row.
  expect((await run(b.url, key)).status).toBe(403);
});

it("a key revoked through one process fails on its next request there and in the other process", async () => {
  const { key, id } = await createApiKey(a.database.prisma, tenant.id, ["VIEW"]);
  expect((await run(a.url, key)).status).toBe(200);
  expect((await run(b.url, key)).status).toBe(200);
  const revoked = await graphql(a.url, REVOKE, { id }, admin);
  expect(revoked.data.revokeApiKey.revokedAt).toBeTruthy();
  const next = await run(a.url, key);
  expect(next.status).toBe(401);
  expect(next.body).toEqual({ code: "UNAUTHENTICATED", message: "The API key has been revoked" });
  expect((await run(b.url, key)).status).toBe(401);
  // GraphQL shares the authenticator.
  const viaGraphQL = await graphql(b.url, "{ __typename }", {}, { "x-api-key": key });
  expect(viaGraphQL.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
});

it("a key revoked by an operator in another process fails on the very next request, every time", async () => {
  // Called in-process, not over HTTP, so nothing but the cache's catch-up stands between revocation and check.
  const authenticator = createAuthenticator(a.database, { verify: () => Promise.reject(new Error("keys only")) });
  for (let i = 0; i < 20; i++) {
    const { key, id } = await createApiKey(a.database.prisma, tenant.id, ["VIEW"]);
    expect(await authenticator.authenticate({ "x-api-key": key })).toMatchObject({ kind: "apiKey", apiKeyId: id });
    await b.services.apiKeys.revoke(OPERATOR, tenant.id, id);
    await expect(authenticator.authenticate({ "x-api-key": key })).rejects.toThrow("The API key has been revoked");
  }
});

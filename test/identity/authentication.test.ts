import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey, parseApiKey } from "../../src/identity/api-key-format.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, graphql, startTestGateway, TEST_JWT_SECRET, type TestGateway } from "../support/gateway.js";

const VIEWER = "{ viewer { credential tenant { id } user { id roles } scopes } }";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], vic: ["VIEWER"] });
  other = await createTenant(gateway.database.prisma, { oscar: ["ADMIN"] });
});
afterAll(() => gateway?.stop());

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const sign = (claims: { sub?: string; iss?: string; aud?: string; exp?: number | string | null }, alg = "HS256", key: Uint8Array | CryptoKey = secret) => {
  let jwt = new SignJWT({}).setProtectedHeader({ alg }).setIssuedAt();
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  jwt = jwt.setIssuer(claims.iss ?? "verdict").setAudience(claims.aud ?? "verdict-api");
  if (claims.exp !== null) jwt = jwt.setExpirationTime(claims.exp ?? "5m");
  return jwt.sign(key);
};
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function expectUnauthenticated(headers: Record<string, string>, message?: RegExp) {
  const response = await graphql(gateway.url, VIEWER, {}, headers);
  expect(response.status).toBe(401);
  expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
  expect(response.data ?? null).toBeNull();
  if (message) expect(response.errors?.[0]?.message).toMatch(message);
  return response;
}

describe("bearer tokens", () => {
  it("accepts a valid token and reads identity and tenant from the database", async () => {
    const token = await sign({ sub: tenant.users.vic!.subject });
    const response = await graphql(gateway.url, VIEWER, {}, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.data.viewer).toMatchObject({ credential: "USER", tenant: { id: tenant.id }, user: { id: tenant.users.vic!.id, roles: ["VIEWER"] } });
  });

  it("refuses an expired token", async () => {
    const token = await sign({ sub: tenant.users.ada!.subject, exp: Math.floor(Date.now() / 1000) - 60 });
    await expectUnauthenticated({ authorization: `Bearer ${token}` }, /invalid or expired/);
  });

  it("refuses a validly signed token without an expiry, which would otherwise be valid forever", async () => {
    const token = await sign({ sub: tenant.users.ada!.subject, exp: null });
    expect(JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString())).not.toHaveProperty("exp");
    await expectUnauthenticated({ authorization: `Bearer ${token}` }, /invalid or expired/);
  });

  it("refuses a token from another issuer", async () => {
    await expectUnauthenticated({ authorization: `Bearer ${await sign({ sub: tenant.users.ada!.subject, iss: "evil" })}` });
  });

  it("refuses a token for another audience", async () => {
    await expectUnauthenticated({ authorization: `Bearer ${await sign({ sub: tenant.users.ada!.subject, aud: "other-api" })}` });
  });

  it("refuses an unsigned token (alg: none)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: tenant.users.ada!.subject, iss: "verdict", aud: "verdict-api", iat: now, exp: now + 300 })}.`;
    await expectUnauthenticated({ authorization: `Bearer ${unsigned}` });
  });

  it("refuses a token signed with an algorithm outside the allow-list, even with the right secret (HS512)", async () => {
    await expectUnauthenticated({ authorization: `Bearer ${await sign({ sub: tenant.users.ada!.subject }, "HS512")}` });
  });

  it("refuses a token signed with another secret", async () => {
    const forged = await sign({ sub: tenant.users.ada!.subject }, "HS256", new TextEncoder().encode("x".repeat(48)));
    await expectUnauthenticated({ authorization: `Bearer ${forged}` });
  });

  it("refuses a valid token whose subject is no user", async () => {
    await expectUnauthenticated({ authorization: `Bearer ${await sign({ sub: "nobody|at-all" })}` }, /no known user/);
  });

  it("still looks the user up on every request, even for a token it has verified before", async () => {
    const t = await createTenant(gateway.database.prisma, { leaver: ["EDITOR"] });
    const headers = { authorization: `Bearer ${await sign({ sub: t.users.leaver!.subject })}` };
    expect((await graphql(gateway.url, VIEWER, {}, headers)).data.viewer.user.roles).toEqual(["EDITOR"]);
    await gateway.database.prisma.user.update({ where: { id: t.users.leaver!.id }, data: { roles: ["VIEWER"] } });
    expect((await graphql(gateway.url, VIEWER, {}, headers)).data.viewer.user.roles).toEqual(["VIEWER"]);
    await gateway.database.prisma.auditEvent.deleteMany({ where: { tenantId: t.id } });
    await gateway.database.prisma.user.delete({ where: { id: t.users.leaver!.id } });
    await expectUnauthenticated(headers, /no known user/);
  });

  it("never answers from a cached user once a role change or deletion has committed elsewhere (another process, plain SQL)", async () => {
    // Users are cached per process (announced-row-cache.ts); a trigger announces every change to a user row. The other
    // gateway has its own pool and listening connection, as another process would.
    const elsewhere = await startTestGateway({}, gateway.db);
    try {
      const t = await createTenant(gateway.database.prisma, { chief: ["ADMIN"], mover: ["EDITOR"] });
      const headers = { authorization: `Bearer ${await sign({ sub: t.users.mover!.subject })}` };
      const chief = { authorization: `Bearer ${await sign({ sub: t.users.chief!.subject })}` };
      const rolesHere = async () => (await graphql(gateway.url, VIEWER, {}, headers)).data.viewer.user.roles;
      let expected = ["EDITOR"];
      for (let round = 0; round < 6; round++) {
        // Warm this process's cache with the current row, twice (the second answer comes from memory).
        expect(await rolesHere()).toEqual(expected);
        expect(await rolesHere()).toEqual(expected);
        const next = round % 2 === 0 ? ["VIEWER"] : ["EDITOR", "AUDITOR"];
        if (round % 3 === 0) {
          // Through the other process's API...
          const removed = await graphql(
            elsewhere.url,
            "mutation($u: ID!, $r: [Role!]!) { removeRoles(userId: $u, roles: $r) { roles } }",
            { u: t.users.mover!.id, r: expected },
            chief,
          );
          const added = await graphql(
            elsewhere.url,
            "mutation($u: ID!, $r: [Role!]!) { assignRoles(userId: $u, roles: $r) { roles } }",
            { u: t.users.mover!.id, r: next },
            chief,
          );
          expect([removed.errors, added.errors]).toEqual([undefined, undefined]);
        } else {
          // ...or plain SQL on another connection, as the CLI or an operator would.
          await elsewhere.database.query('UPDATE users SET roles = $1::text[]::"Role"[] WHERE id = $2::uuid', [next, t.users.mover!.id]);
        }
        expected = next;
        expect(await rolesHere()).toEqual(expected);
      }
      await elsewhere.database.query("DELETE FROM users WHERE id = $1::uuid", [t.users.mover!.id]);
      await expectUnauthenticated(headers, /no known user/);
    } finally {
      await elsewhere.stop();
    }
  });

  it("refuses a token without a subject", async () => {
    await expectUnauthenticated({ authorization: `Bearer ${await sign({})}` });
  });

  it("refuses a malformed Authorization header", async () => {
    await expectUnauthenticated({ authorization: "Basic YWRhOnB3" });
  });

  it("takes the tenant from the credential only, never from what the client sends", async () => {
    const token = await sign({ sub: tenant.users.vic!.subject });
    const response = await graphql(gateway.url, VIEWER, { tenantId: other.id }, { authorization: `Bearer ${token}`, "x-tenant-id": other.id });
    expect(response.data.viewer.tenant.id).toBe(tenant.id);
  });
});

describe("bearer tokens verified against a JWKS (production setting)", () => {
  let jwks: http.Server;
  let jwksGateway: TestGateway;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwks = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    jwksGateway = await startTestGateway({ AUTH_JWKS_URL: url }, gateway.db);
  });
  afterAll(async () => {
    await jwksGateway?.stop();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  it("accepts a token signed by the issuer's key and refuses locally signed (HS256) ones", async () => {
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setSubject(tenant.users.vic!.subject)
      .setIssuer("verdict")
      .setAudience("verdict-api")
      .setExpirationTime("5m")
      .sign(privateKey);
    const accepted = await graphql(jwksGateway.url, VIEWER, {}, { authorization: `Bearer ${good}` });
    expect(accepted.data?.viewer.user.id).toBe(tenant.users.vic!.id);
    const local = await sign({ sub: tenant.users.vic!.subject });
    const refused = await graphql(jwksGateway.url, VIEWER, {}, { authorization: `Bearer ${local}` });
    expect(refused.status).toBe(401);
    expect(errorCodes(refused)).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("API keys", () => {
  const changeOneCharacter = (key: string, at: number) => {
    const c = key[at]!;
    return key.slice(0, at) + (c === "A" ? "B" : "A") + key.slice(at + 1);
  };

  it("authenticates with x-api-key; the tenant and scopes come from the key", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    const response = await graphql(gateway.url, VIEWER, {}, { "x-api-key": key, "x-tenant-id": other.id });
    expect(response.data.viewer).toMatchObject({ credential: "API_KEY", scopes: ["VIEW"], tenant: { id: tenant.id }, user: null });
  });

  it("rejects a key with one changed character by its checksum, before any lookup", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    // Every position of the secret and the prefix: the checksum catches each single-character typo.
    for (const at of [4, 10, 17, 30, 50, key.length - 8, key.length - 1]) {
      const typo = changeOneCharacter(key, at);
      expect(parseApiKey(typo)).toBeNull();
      await expectUnauthenticated({ "x-api-key": typo }, /malformed/);
    }
  });

  it("names its tenant (the routing hint); a key without one (issued before the hint) is looked up in the shared database", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    expect(key.startsWith(`vdk_${tenant.id.replaceAll("-", "")}_`)).toBe(true);
    expect(parseApiKey(key)).toMatchObject({ tenantId: tenant.id });
    const prefix = "Legacy" + randomBytes(3).toString("hex");
    const body = `vdk_${prefix}_${"L".repeat(43)}`;
    const legacy = body + createHash("sha256").update(body).digest("base64url").slice(0, 6);
    await gateway.database.prisma.apiKey.create({ data: { tenantId: tenant.id, name: "legacy", prefix, secretHash: hashApiKey(legacy), scopes: ["VIEW"] } });
    expect(parseApiKey(legacy)).toEqual({ prefix, tenantId: null });
    const response = await graphql(gateway.url, VIEWER, {}, { "x-api-key": legacy });
    expect(response.data.viewer).toMatchObject({ credential: "API_KEY", tenant: { id: tenant.id } });
  });

  it("refuses a key whose tenant hint names another tenant than the key's row", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    const { prefix } = parseApiKey(key)!;
    const body = `vdk_${other.id.replaceAll("-", "")}_${prefix}_${key.slice(-49, -6)}`;
    const forged = body + createHash("sha256").update(body).digest("base64url").slice(0, 6);
    await expectUnauthenticated({ "x-api-key": forged }, /not valid|another tenant/);
  });

  it("rejects a well-formed key that was never issued, and one whose secret differs for a known prefix", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    const prefix = parseApiKey(key)!.prefix;
    const body = `vdk_${prefix}_${"Q".repeat(43)}`;
    const sameprefix = body + createHash("sha256").update(body).digest("base64url").slice(0, 6);
    expect(parseApiKey(sameprefix)).not.toBeNull();
    await expectUnauthenticated({ "x-api-key": sameprefix }, /not valid/);
    const unknownBody = `vdk_ZZZZZZZZZZZZ_${"Q".repeat(43)}`;
    const unknown = unknownBody + createHash("sha256").update(unknownBody).digest("base64url").slice(0, 6);
    await expectUnauthenticated({ "x-api-key": unknown }, /not valid/);
  });

  it("stores only a hash of the key", async () => {
    const { id, key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    const [row] = await gateway.database.prisma.$queryRaw<Record<string, unknown>[]>`SELECT * FROM api_keys WHERE id = ${id}::uuid`;
    const secretPart = key.slice("vdk_".length + 32 + 1 + 12 + 1, -6); // the 43 characters between prefix and checksum
    expect(secretPart).toHaveLength(43);
    expect(JSON.stringify(row)).not.toContain(secretPart);
    expect(row!.secret_hash).toBe(hashApiKey(key));
  });

  it("refuses an expired key", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"], { expiresAt: new Date(Date.now() - 1000) });
    await expectUnauthenticated({ "x-api-key": key }, /expired/);
  });

  it("records when a key was last used", async () => {
    const { id, key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    const before = new Date();
    expect((await graphql(gateway.url, VIEWER, {}, { "x-api-key": key })).status).toBe(200);
    const row = await gateway.database.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(row.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
  });

  it("a revoked key fails on the very next request", async () => {
    const admin = { authorization: `Bearer ${await gateway.tokenFor(tenant.users.ada!.subject)}` };
    const created = await graphql(gateway.url, `mutation { createApiKey(input: { name: "ci", scopes: [VIEW] }) { apiKey { id } secretShownOnce } }`, {}, admin);
    const { apiKey, secretShownOnce } = created.data.createApiKey;
    expect((await graphql(gateway.url, VIEWER, {}, { "x-api-key": secretShownOnce })).status).toBe(200);
    const revoked = await graphql(gateway.url, `mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id: apiKey.id }, admin);
    expect(revoked.data.revokeApiKey.revokedAt).toBeTruthy();
    await expectUnauthenticated({ "x-api-key": secretShownOnce }, /revoked/);
  });

  it("prefers the API key when both credentials are sent, and never mixes them", async () => {
    const { key } = await createApiKey(gateway.database.prisma, other.id, ["VIEW"]);
    const token = await gateway.tokenFor(tenant.users.ada!.subject);
    const response = await graphql(gateway.url, VIEWER, {}, { "x-api-key": key, authorization: `Bearer ${token}` });
    expect(response.data.viewer).toMatchObject({ credential: "API_KEY", tenant: { id: other.id }, user: null });
  });
});

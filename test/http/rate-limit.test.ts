import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/http/rate-limit.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { post } from "../support/kit.js";

let gateway: TestGateway;
let second: TestGateway;
let tenant: TestTenant;

beforeAll(async () => {
  const limits = { RATE_LIMIT_PER_MINUTE: "3", RATE_LIMIT_PER_IP_PER_MINUTE: "2" };
  gateway = await startTestGateway(limits);
  // A second gateway process on the same database: limits are shared through it.
  second = await startTestGateway(limits, gateway.db);
  tenant = await createTenant(gateway.database.prisma, { admin: ["ADMIN"] });
});
afterAll(async () => {
  await second?.close();
  await gateway?.stop();
});

/** Windows are whole minutes: start a counting test early in one so that it cannot straddle two. */
async function freshWindowAhead(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 50));
}

const run = (url: string, key?: string) => post(url, "/run", { rule: op.AGE_POLICY, data: { Person: { age: 20 } } }, { key });

describe("per-key and per-IP rate limits on the REST routes, shared by gateway processes", () => {
  it("lets a key make its allowance across two processes, then answers 429 with Retry-After", async () => {
    await freshWindowAhead();
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    expect((await run(gateway.url, key)).status).toBe(200);
    expect((await run(second.url, key)).status).toBe(200);
    expect((await run(gateway.url, key)).status).toBe(200);
    for (const url of [second.url, gateway.url]) {
      const limited = await run(url, key);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ code: "RATE_LIMITED", message: expect.any(String) });
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    // Flow routes answer with the same body.
    const flow = await post(gateway.url, "/flow/test", { data: {}, flow: "flow:\n  start: []\n" }, { key });
    expect(flow.status).toBe(429);
    expect(flow.body).toEqual({ code: "RATE_LIMITED", message: expect.any(String) });

    // Another key of the same tenant has an allowance of its own.
    const other = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    expect((await run(second.url, other.key)).status).toBe(200);
  });

  it("limits requests without a valid key per client address: 401 until the allowance is used, then 429", async () => {
    await freshWindowAhead();
    await gateway.database.prisma.rateLimitWindow.deleteMany({ where: { key: { startsWith: "ip:" } } });
    expect((await run(gateway.url)).status).toBe(401);
    expect((await run(second.url, "vdk_not_a_real_key")).status).toBe(401);
    const limited = await run(gateway.url);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ code: "RATE_LIMITED", message: expect.any(String) });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // A valid key is limited on its own account, not the address's.
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    expect((await run(gateway.url, key)).status).toBe(200);
  });
});

describe("one allowance per key, user or address across GraphQL and REST", () => {
  const graphqlPost = (url: string, headers: Record<string, string>, query = "{ viewer { credential } }") =>
    fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query }) });

  it("counts a key's GraphQL and REST requests together, then answers GraphQL with 429 RATE_LIMITED and Retry-After", async () => {
    await freshWindowAhead();
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]);
    expect((await run(gateway.url, key)).status).toBe(200);
    expect((await graphqlPost(second.url, { "x-api-key": key })).status).toBe(200);
    expect((await run(second.url, key)).status).toBe(200);
    for (const limited of [await graphqlPost(gateway.url, { "x-api-key": key }), await graphqlPost(second.url, { "x-api-key": key })]) {
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const body = (await limited.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
      expect(body.data).toBeUndefined();
      expect(body.errors.map((e) => e.extensions.code)).toEqual(["RATE_LIMITED"]);
    }
    expect((await run(gateway.url, key)).status).toBe(429);
  });

  it("counts a user's GraphQL requests against the user, and anonymous or badly authenticated ones against the address", async () => {
    await freshWindowAhead();
    const token = await gateway.tokenFor(tenant.users.admin!.subject);
    for (let i = 0; i < 3; i++) expect((await graphqlPost(gateway.url, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await graphqlPost(gateway.url, { authorization: `Bearer ${token}` })).status).toBe(429);

    // A client address of its own (X-Forwarded-For counts from a loopback proxy, which the tests are).
    const address = { "x-forwarded-for": "203.0.113.7" };
    expect((await graphqlPost(gateway.url, address, "{ __typename }")).status).toBe(200);
    const badToken = await graphqlPost(second.url, { ...address, authorization: "Bearer not-a-token" });
    expect(badToken.status).toBe(401);
    const limited = await graphqlPost(gateway.url, address, "{ __typename }");
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("RATE_LIMITED");
  });
});

describe("RateLimiter", () => {
  it("leases allowances in shares so a process asks the database about once per share, never exceeding the limit", async () => {
    let now = Date.UTC(2030, 0, 1, 12, 0, 5);
    const a = new RateLimiter(gateway.database, 60_000, () => now);
    const b = new RateLimiter(gateway.database, 60_000, () => now);
    const key = `test:${Math.random()}`;
    // limit 1000 ⇒ shares of 10.
    const decisions = await Promise.all(Array.from({ length: 25 }, () => a.take(key, 1000)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    // 25 requests need 3 shares; a 4th may have been leased ahead once half of the 3rd was used.
    expect(a.leases).toBeGreaterThanOrEqual(3);
    expect(a.leases).toBeLessThanOrEqual(4);
    await expect.poll(async () => (await gateway.database.prisma.rateLimitWindow.findFirst({ where: { key } }))?.count).toBe(a.leases * 10);

    // Two processes against a small limit: together they let exactly `limit` requests through.
    const small = `test:${Math.random()}`;
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take(small, 7)));
    expect(outcomes.filter((d) => d.allowed)).toHaveLength(7);
    const refused = outcomes.find((d) => !d.allowed)!;
    expect(refused.retryAfterSeconds).toBe(55);

    // A new window starts afresh, and its first request clears rows of windows before the previous one.
    now += 60_000;
    expect((await a.take(small, 7)).allowed).toBe(true);
    now += 120_000;
    expect((await a.take(small, 7)).allowed).toBe(true);
    await expect
      .poll(() =>
        gateway.database.prisma.rateLimitWindow.count({ where: { key: { in: [key, small] }, windowStart: { lt: new Date(now - 60_000 - (now % 60_000)) } } }),
      )
      .toBe(0);
  });
});

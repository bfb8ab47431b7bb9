import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerVersionDocument, ViewerDocument } from "../../operations/__generated__/graphql.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, graphql, startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;
let tenant: TestTenant;

beforeAll(async () => {
  gateway = await startTestGateway({ BODY_LIMIT_BYTES: "4096" });
  tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], vic: ["VIEWER", "AUDITOR"] });
});
afterAll(() => gateway?.stop());

const bearer = async (name: string) => ({ authorization: `Bearer ${await gateway.tokenFor(tenant.users[name]!.subject)}` });

describe("operational endpoints", () => {
  it("answers liveness and readiness once the database is migrated", async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });

  it("exposes Prometheus metrics including request durations", async () => {
    await fetch(`${gateway.url}/healthz`);
    const response = await fetch(`${gateway.url}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toMatch(/verdict_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toContain("process_cpu_seconds_total");
  });

  it("echoes a well-formed request ID and invents one otherwise", async () => {
    const given = await fetch(`${gateway.url}/healthz`, { headers: { "x-request-id": "abc-123" } });
    expect(given.headers.get("x-request-id")).toBe("abc-123");
    const hostile = await fetch(`${gateway.url}/healthz`, { headers: { "x-request-id": "a b<script>" } });
    expect(hostile.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers unknown routes with a coded 404", async () => {
    const response = await fetch(`${gateway.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: "NOT_FOUND", message: "No such route" });
  });
});

describe("GraphQL basics", () => {
  it("answers the server version from the database", async () => {
    const response = await graphql(gateway.url, print(ServerVersionDocument));
    expect(response.errors).toBeUndefined();
    expect(response.data.version.database).toMatch(/^PostgreSQL \d+/);
    expect(response.data.version.migration).toMatch(/^\d{14}_\w+$/);
    expect(response.data.version.gateway).toBe("0.1.0");
  });

  it("tells a user who they are", async () => {
    const response = await graphql(gateway.url, print(ViewerDocument), {}, await bearer("vic"));
    expect(response.errors).toBeUndefined();
    expect(response.data.viewer).toMatchObject({
      credential: "USER",
      scopes: [],
      tenant: { id: tenant.id, slug: tenant.slug },
      user: { id: tenant.users.vic!.id, roles: ["VIEWER", "AUDITOR"] },
    });
  });

  it("marks every GraphQL answer, refusals included, as not to be stored by caches", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query: print(ViewerDocument) }),
      });
    const answered = await post(await bearer("vic"));
    expect(answered.status).toBe(200);
    expect(answered.headers.get("cache-control")).toBe("no-store");
    const refused = await post({ authorization: "Bearer not.a.jwt" });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("cache-control")).toBe("no-store");
  });

  it("tells an API key who it is, tenant taken from the key", async () => {
    const { key } = await createApiKey(gateway.database.prisma, tenant.id, ["VIEW", "AUDIT"]);
    const response = await graphql(gateway.url, print(ViewerDocument), {}, { "x-api-key": key });
    expect(response.data.viewer).toMatchObject({ credential: "API_KEY", scopes: ["VIEW", "AUDIT"], user: null, tenant: { id: tenant.id } });
  });

  it("refuses missing and bad credentials with UNAUTHENTICATED", async () => {
    const anonymous = await graphql(gateway.url, print(ViewerDocument));
    expect(errorCodes(anonymous)).toEqual(["UNAUTHENTICATED"]);

    const forged = await graphql(gateway.url, print(ViewerDocument), {}, { authorization: "Bearer not.a.jwt" });
    expect(forged.status).toBe(401);
    expect(errorCodes(forged)).toEqual(["UNAUTHENTICATED"]);

    const badKey = await graphql(gateway.url, print(ViewerDocument), {}, { "x-api-key": "vdk_nothing" });
    expect(badKey.status).toBe(401);
    expect(badKey.errors?.[0]?.message).toMatch(/malformed/);
  });

  it("rejects operations that are too deep or too wide before running them", async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: version { gateway }`).join(" ");
    const response = await graphql(gateway.url, `{ ${aliases} }`);
    expect(response.errors?.[0]?.message).toMatch(/aliases/i);
    expect(errorCodes(response)[0]).toBe("BAD_USER_INPUT");
  });

  it("refuses an oversized body with 413 and a coded error", async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ version { gateway } }`, variables: { pad: "x".repeat(10_000) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ code: "PAYLOAD_TOO_LARGE", message: expect.stringMatching(/^The request body is larger than \d+ bytes$/) });
  });

  it("blocks simple cross-site GET requests (CSRF prevention)", async () => {
    const response = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent("{ version { gateway } }")}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/CSRF/);
  });
});

describe("GraphiQL", () => {
  it("serves a self-contained page that loads nothing from another host", async () => {
    const response = await fetch(`${gateway.url}/graphql`, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html).toContain("GraphiQL");
    // Every <script src>, <link href>, <img src> must be local (relative, data: or blob:), never another origin.
    const references = [...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    const remote = references.filter((ref) => /^(?:[a-z]+:)?\/\//i.test(ref));
    expect(remote).toEqual([]);
    for (const ref of references.filter((r) => r.startsWith("/"))) {
      expect((await fetch(`${gateway.url}${ref}`)).status).toBe(200);
    }
    expect(html).not.toMatch(/import\s*\(\s*["']https?:/);
  });
});

describe("dedicated-database tenants", () => {
  it("refuses (fails closed) a tenant bound to a database this gateway does not serve", async () => {
    const bound = await createTenant(gateway.database.prisma, { bea: ["ADMIN"] });
    await gateway.database.prisma.tenant.update({ where: { id: bound.id }, data: { databaseBinding: "eu-west-dedicated" } });
    const token = await gateway.tokenFor(bound.users.bea!.subject);
    const response = await graphql(gateway.url, print(ViewerDocument), {}, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(503);
    expect(errorCodes(response)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(response.errors?.[0]?.message).toContain("dedicated database");
    expect(response.errors?.[0]?.message).not.toContain("eu-west-dedicated");
    const { key } = await createApiKey(gateway.database.prisma, bound.id, ["VIEW"]);
    expect(errorCodes(await graphql(gateway.url, print(ViewerDocument), {}, { "x-api-key": key }))).toEqual(["SERVICE_UNAVAILABLE"]);
  });
});

describe("readiness", () => {
  it("reports unready while a shipped migration is not applied", async () => {
    const { prisma } = gateway.database;
    const [applied] = await prisma.$queryRaw<{ id: string; migration_name: string }[]>`SELECT id, migration_name FROM _prisma_migrations LIMIT 1`;
    await prisma.$executeRaw`UPDATE _prisma_migrations SET finished_at = NULL WHERE id = ${applied!.id}`;
    try {
      const response = await fetch(`${gateway.url}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: "unready", reason: "migrations pending", pending: [applied!.migration_name] });
    } finally {
      await prisma.$executeRaw`UPDATE _prisma_migrations SET finished_at = now() WHERE id = ${applied!.id}`;
    }
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });
});

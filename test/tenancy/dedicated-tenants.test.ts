import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { drivingTestData } from "../support/driving-test.js";
import { errorCodes, graphql, startTestGateway, type TestGateway } from "../support/gateway.js";
import { grpcClients, toStruct, unary, type GrpcClients } from "../grpc/support.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { post } from "../support/rest.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { type BoundTenant, controlCli, createBoundTenant, ensureSecondServer, onServer, publishDrivingTest, withDatabase } from "../support/tenancy.js";

/**
 * Dedicated tenants (issue #14): tenants bound to databases of their own — on the suite's Postgres server and on a
 * second Postgres server process started for these tests — served by one gateway beside tenants of the shared
 * database, over GraphQL, REST and gRPC, failing closed per tenant.
 */

const VIEWER = `{ viewer { tenant { id } } }`;
/** A password the local servers ignore (trust authentication) but that must never show anywhere. */
const PASSWORD = `pw-${randomBytes(6).toString("hex")}`;

const logLines: string[] = [];
let gateway: TestGateway;
let grpc: GrpcClients;
let shared: TestTenant;
let sharedKey: string;
let sharedBase: string;
const databases: TestDatabase[] = [];

/** A fresh migrated database on the suite's server, its URL carrying PASSWORD. */
async function localDatabase(): Promise<{ db: TestDatabase; url: string }> {
  const db = await createTestDatabase(inject("templateDatabase"));
  databases.push(db);
  const url = new URL(db.url);
  url.password = PASSWORD;
  return { db, url: url.toString() };
}

const run = (key: string, baseId: string) => post(gateway.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key });
const asUser = (token: string, query: string, variables: Record<string, unknown> = {}) =>
  graphql(gateway.url, query, variables, { authorization: `Bearer ${token}` });

beforeAll(async () => {
  process.env.VERDICT_BINDING_KEY = randomBytes(32).toString("base64");
  const capture = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  gateway = await startTestGateway(
    { GRPC_PORT: "0", LOG_LEVEL: "info", TENANT_DATABASE_RECHECK_MS: "200", TENANT_DATABASE_POOL_SIZE: "2" },
    undefined,
    pino({ level: "info" }, capture),
  );
  grpc = grpcClients(gateway.grpcAddress!);
  shared = await createTenant(gateway.database.prisma, { sam: ["ADMIN"] });
  sharedKey = (await createApiKey(gateway.database.prisma, shared.id, ["VIEW"])).key;
  sharedBase = await publishDrivingTest(gateway.url, await gateway.tokenFor(shared.users.sam!.subject));
});

afterAll(async () => {
  grpc?.close();
  await gateway?.stop();
  await Promise.allSettled(databases.map((db) => db.drop()));
});

describe("a tenant bound to its own database", () => {
  let tenant: BoundTenant;
  let db: TestDatabase;
  let baseId: string;

  beforeAll(async () => {
    const local = await localDatabase();
    db = local.db;
    tenant = await createBoundTenant(gateway, local.url);
    baseId = await publishDrivingTest(gateway.url, tenant.token);
  });

  it("is served over GraphQL, REST and gRPC from its database only; nothing of it is in the shared one", async () => {
    expect((await asUser(tenant.token, VIEWER)).data.viewer.tenant.id).toBe(tenant.id);
    const rest = await run(tenant.key, baseId);
    expect(rest.status).toBe(200);
    expect(rest.body.result).toBe(true);
    const call = await unary(grpc.policy, "RunPolicy", { baseId, data: toStruct(drivingTestData(new Date())) }, { key: tenant.key });
    expect(call.ok).toBe(true);
    // The shared tenant keeps working beside it.
    expect((await run(sharedKey, sharedBase)).status).toBe(200);

    const counts = (sql: string) => `SELECT
      (SELECT count(*) FROM users WHERE tenant_id = '${tenant.id}')::int AS users,
      (SELECT count(*) FROM api_keys WHERE tenant_id = '${tenant.id}')::int AS keys,
      (SELECT count(*) FROM bases WHERE tenant_id = '${tenant.id}')::int AS bases,
      (SELECT count(*) FROM audit_events WHERE tenant_id = '${tenant.id}')::int AS audit ${sql}`;
    const own = await onServer(db.url, async (c) => (await c.query(counts(""))).rows[0]);
    expect(own).toMatchObject({ users: 1, keys: 1, bases: 1 });
    expect(own.audit).toBeGreaterThanOrEqual(4); // created, published, two runs (and the user and key)
    const inShared = await onServer(gateway.db.url, async (c) => (await c.query(counts(""))).rows[0]);
    expect(inShared).toEqual({ users: 0, keys: 0, bases: 0, audit: 0 });
    // Its rate-limit windows are counted in its own database too.
    const windows = (url: string) => onServer(url, async (c) => (await c.query("SELECT key FROM rate_limit_windows")).rows.map((r) => r.key as string));
    const keyRow = await onServer(db.url, async (c) => (await c.query("SELECT id FROM api_keys")).rows[0].id);
    expect(await windows(db.url)).toContain(`key:${keyRow}`);
    expect(await windows(gateway.db.url)).not.toContain(`key:${keyRow}`);
  });

  it("keeps its hash-chained audit log, verified, in its own database", async () => {
    const verified = await asUser(tenant.token, `{ verifyAuditChain { valid checkedEvents firstBrokenSequence } }`);
    expect(verified.data.verifyAuditChain).toMatchObject({ valid: true, firstBrokenSequence: null });
    const own = await onServer(db.url, async (c) => (await c.query("SELECT count(*)::int AS n FROM audit_events")).rows[0].n);
    expect(verified.data.verifyAuditChain.checkedEvents).toBe(own);
  });

  it("catches up with announcements in its database: a revoked key fails on the next request, a new version runs at once", async () => {
    // A second gateway on the same control database: what one process changes, the other sees at once.
    const other = await startTestGateway({}, gateway.db);
    try {
      expect((await post(other.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key: tenant.key })).status).toBe(200);
      const draft = await asUser(tenant.token, `mutation($v: ID!) { createDraftFromVersion(versionId: $v) { id } }`, {
        v: (await asUser(tenant.token, `query($id: ID!) { base(id: $id) { latestVersion { id } } }`, { id: baseId })).data.base.latestVersion.id,
      });
      const published = await asUser(tenant.token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { versionNumber } }`, {
        input: { draftId: draft.data.createDraftFromVersion.id, description: "second" },
      });
      expect(published.data.publishDraft.versionNumber).toBe(2);
      const ran = await post(other.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key: tenant.key });
      expect(ran.status).toBe(200);
      expect(ran.headers.get("x-verdict-version")).toBe("2");

      const revoked = await controlCli(gateway, ["key", "revoke", "--tenant", tenant.slug, "--key", tenant.keyPrefix]);
      expect(revoked.code).toBe(0);
      expect((await post(other.url, `/run/policy/${baseId}`, { data: {} }, { key: tenant.key })).status).toBe(401);
      expect((await run(tenant.key, baseId)).status).toBe(401);
    } finally {
      await other.stop();
    }
  });
});

describe("rate limits on a bound tenant's database", () => {
  it("count one allowance across gateways, in the tenant's database", async () => {
    const { url } = await localDatabase();
    const tenant = await createBoundTenant(gateway, url);
    const baseId = await publishDrivingTest(gateway.url, tenant.token);
    const first = await startTestGateway({ RATE_LIMIT_PER_MINUTE: "4" }, gateway.db);
    const second = await startTestGateway({ RATE_LIMIT_PER_MINUTE: "4" }, gateway.db);
    try {
      const statuses: number[] = [];
      for (const g of [first, second, first, second, first, second]) {
        statuses.push((await post(g.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key: tenant.key })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});

describe("secrets", () => {
  it("an encrypted binding serves the tenant; the row, the CLI's listing, the answers and the logs never show the URL", async () => {
    const { db, url } = await localDatabase();
    const tenant = await createBoundTenant(gateway, url, "encrypt-env");
    const baseId = await publishDrivingTest(gateway.url, tenant.token);
    expect((await run(tenant.key, baseId)).status).toBe(200);

    const row = await onServer(gateway.db.url, async (c) => (await c.query("SELECT database_binding FROM tenants WHERE id = $1", [tenant.id])).rows[0]);
    expect(row.database_binding).toMatch(/^enc:v1:/);
    expect(row.database_binding).not.toContain(db.name);
    const listing = await controlCli(gateway, ["tenant", "bindings", "--json"]);
    expect(listing.json()).toContainEqual({ tenantId: tenant.id, slug: tenant.slug, binding: "encrypted" });
    const check = await controlCli(gateway, ["tenant", "check", "--tenant", tenant.slug]);
    expect(check.code).toBe(0);
    expect(check.out).toContain("ok");
    for (const text of [listing.out, check.out, check.err]) expect(text).not.toContain(PASSWORD);

    // The same value in another tenant's row does not decrypt (the tenant ID is bound into it): refused, 503.
    const thief = await createTenant(gateway.database.prisma, {});
    await onServer(gateway.db.url, (c) => c.query("UPDATE tenants SET database_binding = $1 WHERE id = $2", [row.database_binding, thief.id]));
    const { key } = await createApiKey(gateway.database.prisma, thief.id, ["VIEW"]);
    const refused = await graphql(gateway.url, VIEWER, {}, { "x-api-key": key });
    expect(refused.status).toBe(503);
    expect(errorCodes(refused)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(JSON.stringify(refused)).not.toContain(PASSWORD);
  });
});

describe("fail closed, per tenant", () => {
  /** Runs for the healthy tenant while a fault is on: each answers 200, promptly. */
  async function healthyMeanwhile(tenant: BoundTenant, baseId: string): Promise<void> {
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 10 }, () => run(tenant.key, baseId)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect((await run(sharedKey, sharedBase)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
  }

  let healthy: BoundTenant;
  let healthyBase: string;
  beforeAll(async () => {
    healthy = await createBoundTenant(gateway, (await localDatabase()).url);
    healthyBase = await publishDrivingTest(gateway.url, healthy.token);
  });

  it("a tenant on its own Postgres server, cut off by a proxy: 503 for it alone while others run, and it recovers", async () => {
    const server = await ensureSecondServer();
    const name = `verdict_own_${randomBytes(5).toString("hex")}`;
    await onServer(server, (c) => c.query(`CREATE DATABASE ${name}`));
    const proxy = new TcpProxy("127.0.0.1", new URL(server).port ? Number(new URL(server).port) : 5432);
    const port = await proxy.start();
    try {
      const url = withDatabase(`postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`, name);
      const tenant = await createBoundTenant(gateway, url); // migrates the empty database on the second server
      const baseId = await publishDrivingTest(gateway.url, tenant.token);
      expect((await run(tenant.key, baseId)).status).toBe(200);

      await proxy.cut();
      const during = await run(tenant.key, baseId);
      expect(during.status).toBe(503);
      expect(JSON.stringify(during.body)).not.toContain(PASSWORD);
      const graph = await asUser(tenant.token, VIEWER);
      expect(graph.status).toBe(503);
      expect(errorCodes(graph)).toEqual(["SERVICE_UNAVAILABLE"]);
      const call = await unary(grpc.policy, "RunPolicy", { baseId, data: toStruct(drivingTestData(new Date())) }, { key: tenant.key });
      expect(call.ok).toBe(false);
      expect(call.error?.code).toBe(14); // UNAVAILABLE
      await healthyMeanwhile(healthy, healthyBase);

      await proxy.restore();
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        status = (await run(tenant.key, baseId)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status).toBe(200);
    } finally {
      await proxy.restore().catch(() => {});
      await proxy.cut();
      await onServer(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => {});
    }
  }, 180_000);

  it("a database that carries another tenant's ID: 503 for its tenant while others run", async () => {
    const { db, url } = await localDatabase();
    const tenant = await createBoundTenant(gateway, url);
    const baseId = await publishDrivingTest(gateway.url, tenant.token);
    expect((await run(tenant.key, baseId)).status).toBe(200);
    await onServer(db.url, (c) => c.query("UPDATE tenant_database_identity SET tenant_id = gen_random_uuid()"));
    await new Promise((r) => setTimeout(r, 300)); // TENANT_DATABASE_RECHECK_MS
    const refused = await run(tenant.key, baseId);
    expect(refused.status).toBe(503);
    expect(errorCodes(await asUser(tenant.token, VIEWER))).toEqual(["SERVICE_UNAVAILABLE"]);
    await healthyMeanwhile(healthy, healthyBase);
    const check = await controlCli(gateway, ["tenant", "check", "--tenant", tenant.slug, "--json"]);
    expect(check.code).toBe(1);
    expect(check.json()).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("a binding whose secret is missing: 503 for its tenant while others run, served again once the secret is back", async () => {
    const { url } = await localDatabase();
    const tenant = await createBoundTenant(gateway, url);
    delete process.env[tenant.variable!];
    const refused = await asUser(tenant.token, VIEWER);
    expect(refused.status).toBe(503);
    expect(errorCodes(refused)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect((await graphql(gateway.url, VIEWER, {}, { "x-api-key": tenant.key })).status).toBe(503);
    await healthyMeanwhile(healthy, healthyBase);
    process.env[tenant.variable!] = url;
    await new Promise((r) => setTimeout(r, 1_100)); // a failed open is remembered for a second
    expect((await asUser(tenant.token, VIEWER)).data.viewer.tenant.id).toBe(tenant.id);
  });

  it("a database whose migrations are behind is not served until `migrate` brings it up to date", async () => {
    const { db, url } = await localDatabase();
    const tenant = await createBoundTenant(gateway, url);
    expect((await asUser(tenant.token, VIEWER)).status).toBe(200);
    // Undo one migration, as if the database had missed it.
    await onServer(db.url, (c) =>
      c.query(`DROP TRIGGER users_announce_change ON users; DROP FUNCTION announce_user_change();
               DROP TRIGGER tenants_announce_binding_to_users ON tenants; DROP FUNCTION announce_tenant_binding_to_users();
               DELETE FROM _prisma_migrations WHERE migration_name = '20261205081000_announce_user_changes'`),
    );
    await new Promise((r) => setTimeout(r, 300));
    const refused = await asUser(tenant.token, VIEWER);
    expect(refused.status).toBe(503);
    expect(refused.errors?.[0]?.message).toContain("migrations pending");
    await healthyMeanwhile(healthy, healthyBase);

    const migrated = await controlCli(gateway, ["migrate"]);
    // Databases of earlier tests that are gone or refuse (a copied encrypted binding) fail, each on its own line.
    expect(migrated.code).toBe(migrated.out.includes("FAILED") ? 1 : 0);
    expect(migrated.out).toContain("control database: up to date");
    expect(migrated.out).toContain(`tenant ${tenant.slug} (env:${tenant.variable}): applied 20261205081000_announce_user_changes`);
    expect(migrated.out).toContain(`tenant ${healthy.slug} (env:${healthy.variable}): up to date`);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await asUser(tenant.token, VIEWER)).status).toBe(200);
  });
});

describe("logs", () => {
  it("never carry a connection secret", () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.some((l) => l.includes("tenant database opened"))).toBe(true);
    expect(logLines.filter((l) => l.includes(PASSWORD))).toEqual([]);
  });
});

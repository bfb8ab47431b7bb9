import { randomBytes } from "node:crypto";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectPostgres } from "../../src/database/postgres.js";
import { signLocalToken } from "../../src/identity/tokens.js";
import { verifyChain } from "../../src/modules/audit/audit-verifier.js";
import { AuditStore } from "../../src/stores/audit.store.js";
import { NOT_MOVED, TENANT_TABLES } from "../../src/stores/tenant-move.store.js";
import { DRIVING_TEST_POLICY, drivingTestData } from "../support/driving-test.js";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { CREATE_POLICY } from "../support/operations.js";
import { post } from "../support/rest.js";
import { type CliResult, controlCli, onServer, publishDrivingTest } from "../support/tenancy.js";

/**
 * `tenant move` (issue #14, point 6): a tenant copied from the shared database to a dedicated one and back while
 * runs (REST, each writing an audit event) and edits (GraphQL) keep arriving. Every request answered 2xx has its
 * effect in the database the tenant ends up in; the others were refused with 503 and Retry-After.
 */

let gateway: TestGateway;
let target: TestDatabase;
const variable = `VERDICT_TEST_MOVE_DB_${randomBytes(4).toString("hex").toUpperCase()}`;

const expectOk = (result: CliResult, what: string): CliResult => {
  if (result.code !== 0) throw new Error(`${what} failed: ${result.err}`);
  return result;
};

interface Traffic {
  runs: { status: number; retryAfter: string | null }[];
  edits: { status: number; retryAfter: string | null; baseId: string | null }[];
}

/** Sends runs and edits, a few at a time, until `until` settles; then a little longer. */
async function withTraffic<T>(key: string, token: string, baseId: string, until: Promise<T>): Promise<{ result: T; traffic: Traffic }> {
  const traffic: Traffic = { runs: [], edits: [] };
  let done = false;
  const settled = until.finally(() => {
    done = true;
  });
  const runner = async () => {
    while (!done) {
      const response = await post(gateway.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key });
      traffic.runs.push({ status: response.status, retryAfter: response.headers.get("retry-after") });
    }
  };
  const editor = async () => {
    while (!done) {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: print(CREATE_POLICY),
          variables: { input: { name: `edit ${randomBytes(4).toString("hex")}`, content: DRIVING_TEST_POLICY } },
        }),
      });
      const body = (await response.json()) as { data?: { createPolicy?: { base: { id: string } } } };
      traffic.edits.push({ status: response.status, retryAfter: response.headers.get("retry-after"), baseId: body.data?.createPolicy?.base.id ?? null });
    }
  };
  const workers = [runner(), runner(), editor(), editor()];
  const result = await settled;
  await Promise.all(workers);
  return { result, traffic };
}

async function tenantRows(url: string, tenantId: string): Promise<Record<string, number>> {
  return onServer(url, async (c) => {
    const counts: Record<string, number> = {};
    for (const { table } of TENANT_TABLES) {
      counts[table] = Number((await c.query(`SELECT count(*) AS n FROM "${table}" WHERE tenant_id = $1`, [tenantId])).rows[0].n);
    }
    return counts;
  });
}

function expectEveryAnswerAccountedFor(traffic: Traffic): void {
  for (const answer of [...traffic.runs, ...traffic.edits]) {
    if (answer.status === 503) expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    else expect(answer.status).toBe(200);
  }
}

beforeAll(async () => {
  gateway = await startTestGateway({});
  target = await createTestDatabase(inject("templateDatabase"));
  process.env[variable] = target.url;
});

afterAll(async () => {
  await gateway?.stop();
  await target?.drop();
  delete process.env[variable];
});

describe("tenant move", () => {
  it("every table with a tenant_id is moved, or is named as not moved", async () => {
    const tables = await onServer(gateway.db.url, async (c) =>
      (
        await c.query(
          "SELECT table_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1",
        )
      ).rows.map((r) => r.name as string),
    );
    const listed = new Set([...TENANT_TABLES.map((t) => t.table), ...NOT_MOVED]);
    expect(tables.filter((t) => !listed.has(t))).toEqual([]);
  });

  it("moves a tenant to a dedicated database and back with runs and edits in flight: nothing acknowledged is lost", async () => {
    const slug = `move-${randomBytes(4).toString("hex")}`;
    const tenant = expectOk(await controlCli(gateway, ["tenant", "create", "--slug", slug, "--name", slug, "--json"]), "tenant create").json();
    const admin = expectOk(
      await controlCli(gateway, ["user", "add", "--tenant", slug, "--email", `admin@${slug}.test`, "--name", "Admin", "--json"]),
      "user add",
    ).json();
    const key = expectOk(
      await controlCli(gateway, ["key", "issue", "--tenant", slug, "--name", "runs", "--scope", "VIEW", "--scope", "EDIT", "--json"]),
      "key issue",
    ).json().key as string;
    const token = await signLocalToken({ secret: TEST_JWT_SECRET, issuer: "verdict", audience: "verdict-api" }, admin.subject, "1h", tenant.id);
    const baseId = await publishDrivingTest(gateway.url, token);
    const before = await post(gateway.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key });
    expect(before.status).toBe(200);

    const executed = async (url: string) =>
      onServer(url, async (c) =>
        Number(
          (await c.query("SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = 'EXECUTED' AND base_id = $2", [tenant.id, baseId])).rows[0]
            .n,
        ),
      );
    const acknowledged = { runs: await executed(gateway.db.url), bases: new Set<string>([baseId]) };
    expect(acknowledged.runs).toBeGreaterThan(0);
    const account = (traffic: Traffic) => {
      expectEveryAnswerAccountedFor(traffic);
      acknowledged.runs += traffic.runs.filter((r) => r.status === 200).length;
      for (const e of traffic.edits) if (e.status === 200 && e.baseId) acknowledged.bases.add(e.baseId);
    };
    const expectAllIn = async (url: string) => {
      const bases = await onServer(url, async (c) => (await c.query("SELECT id FROM bases WHERE tenant_id = $1", [tenant.id])).rows.map((r) => r.id as string));
      expect(await executed(url)).toBe(acknowledged.runs);
      expect(new Set(bases)).toEqual(acknowledged.bases);
      const database = connectPostgres({ url, poolSize: 1, poolWaitMs: 5000 });
      try {
        expect((await verifyChain(new AuditStore(database), tenant.id)).valid).toBe(true);
      } finally {
        await database.close();
      }
    };

    // To the dedicated database.
    const out = await withTraffic(
      key,
      token,
      baseId,
      controlCli(gateway, ["tenant", "move", "--tenant", slug, "--env", variable, "--drain-ms", "300", "--json"]),
    );
    expectOk(out.result, "tenant move --env");
    expect(out.traffic.runs.filter((r) => r.status === 503).length + out.traffic.edits.filter((e) => e.status === 503).length).toBeGreaterThan(0);
    account(out.traffic);
    expect(out.result.json()).toMatchObject({ from: "shared", to: `env:${variable}` });
    await expectAllIn(target.url);
    expect(Object.values(await tenantRows(gateway.db.url, tenant.id)).every((n) => n === 0)).toBe(true);
    const moved = await onServer(
      target.url,
      async (c) => (await c.query("SELECT detail FROM audit_events WHERE tenant_id = $1 AND action = 'DATABASE_MOVED'", [tenant.id])).rows,
    );
    expect(moved).toEqual([{ detail: expect.objectContaining({ from: "shared", to: `env:${variable}` }) }]);
    expect(JSON.stringify(moved)).not.toContain(target.url);

    // Served from there.
    expect((await post(gateway.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key })).status).toBe(200);
    acknowledged.runs += 1;

    // And back to the shared database.
    const back = await withTraffic(key, token, baseId, controlCli(gateway, ["tenant", "move", "--tenant", slug, "--shared", "--drain-ms", "300", "--json"]));
    expectOk(back.result, "tenant move --shared");
    account(back.traffic);
    await expectAllIn(gateway.db.url);
    expect(Object.values(await tenantRows(target.url, tenant.id)).every((n) => n === 0)).toBe(true);
    const registry = await onServer(
      gateway.db.url,
      async (c) => (await c.query("SELECT database_binding, moving_since FROM tenants WHERE id = $1", [tenant.id])).rows[0],
    );
    expect(registry).toEqual({ database_binding: null, moving_since: null });
    expect((await post(gateway.url, `/run/policy/${baseId}`, { data: drivingTestData(new Date()) }, { key })).status).toBe(200);
  });

  it("refuses a move to a database holding the tenant's rows, to where it already is, and without a target", async () => {
    const slug = `stay-${randomBytes(4).toString("hex")}`;
    expectOk(await controlCli(gateway, ["tenant", "create", "--slug", slug, "--name", slug]), "tenant create");
    const same = await controlCli(gateway, ["tenant", "move", "--tenant", slug, "--shared"]);
    expect(same.code).toBe(1);
    expect(same.err).toContain("already served from shared");
    const none = await controlCli(gateway, ["tenant", "move", "--tenant", slug]);
    expect(none.code).toBe(1);
    const both = await controlCli(gateway, ["tenant", "move", "--tenant", slug, "--shared", "--env", variable]);
    expect(both.code).toBe(2);
  });

  it("bind and unbind are audit events in the tenant's chain, naming references only", async () => {
    const slug = `audited-${randomBytes(4).toString("hex")}`;
    const tenant = expectOk(await controlCli(gateway, ["tenant", "create", "--slug", slug, "--name", slug, "--json"]), "tenant create").json();
    const own = await createTestDatabase(inject("templateDatabase"));
    const ownVariable = `VERDICT_TEST_AUDITED_DB_${randomBytes(4).toString("hex").toUpperCase()}`;
    process.env[ownVariable] = own.url;
    try {
      expectOk(await controlCli(gateway, ["tenant", "bind", "--tenant", slug, "--env", ownVariable]), "tenant bind");
      const events = (url: string) =>
        onServer(
          url,
          async (c) =>
            (await c.query("SELECT action, resource_kind, actor_type, detail FROM audit_events WHERE tenant_id = $1 ORDER BY sequence", [tenant.id])).rows,
        );
      expect(await events(own.url)).toEqual([
        { action: "DATABASE_BOUND", resource_kind: "TENANT", actor_type: "SYSTEM", detail: { to: `env:${ownVariable}` } },
      ]);
      expectOk(await controlCli(gateway, ["tenant", "unbind", "--tenant", slug]), "tenant unbind");
      expect(await events(gateway.db.url)).toEqual([
        { action: "DATABASE_UNBOUND", resource_kind: "TENANT", actor_type: "SYSTEM", detail: { from: `env:${ownVariable}` } },
      ]);
      expect(JSON.stringify(await events(own.url))).not.toContain(own.url);
    } finally {
      delete process.env[ownVariable];
      await own.drop();
    }
  });
});

import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { issueApiKey } from "../../src/identity/api-key-format.js";
import { errorCodes, graphql, startTestGateway, type TestGateway } from "../support/gateway.js";
import { ADMIN_URL, createTestDatabase, databaseUrl, type TestDatabase, withAdminClient } from "../support/postgres.js";

/**
 * 200 tenants, each bound to an empty database of its own on the suite's server (copies of the migrated template):
 * one gateway serves them all while the connections it holds to tenant databases — counted by the server in
 * pg_stat_activity — stay under TENANT_DATABASE_MAX_CONNECTIONS, and idle databases are closed.
 */

const TENANTS = 200;
const CAP = 30; // connections to all tenant databases together
const POOL = 2; // per tenant database, plus its listening connection: at most 10 open at once
const CONCURRENCY = 8;

const run = `${randomBytes(3).toString("hex")}`;
const names = Array.from({ length: TENANTS }, (_, i) => `verdict_many_${run}_${i}`);
let control: TestDatabase;
let gateway: TestGateway | undefined;
const tenants: { id: string; slug: string; key: string; variable: string }[] = [];

async function inBatches<T>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

beforeAll(async () => {
  control = await createTestDatabase(inject("templateDatabase"));
  const template = inject("templateDatabase");
  // Copies of the migrated template, many at a time. FILE_COPY copies the files and checkpoints, and concurrent
  // copies share their checkpoints; Postgres 15's default (WAL_LOG) writes every page through the WAL instead,
  // which took about twice as long to create 200 and made dropping them slower still.
  await inBatches(names, 20, (name) => withAdminClient((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`)).then(() => {}));
  const registry = new pg.Client({ connectionString: control.url });
  await registry.connect();
  try {
    await inBatches(names, CONCURRENCY, async (name, i) => {
      const id = randomUUID();
      const slug = `many-${run}-${i}`;
      const issued = issueApiKey(id);
      // What `tenant bind` writes into a tenant database: its own tenant row and identity row; plus one key.
      const db = new pg.Client({ connectionString: databaseUrl(name) });
      await db.connect();
      try {
        await db.query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $2)", [id, slug]);
        await db.query("INSERT INTO tenant_database_identity (tenant_id) VALUES ($1)", [id]);
        await db.query("INSERT INTO api_keys (tenant_id, name, prefix, secret_hash, scopes) VALUES ($1, 'k', $2, $3, '{VIEW}')", [
          id,
          issued.prefix,
          issued.secretHash,
        ]);
      } finally {
        await db.end();
      }
      const variable = `VERDICT_MANY_${run}_${i}`.toUpperCase();
      process.env[variable] = databaseUrl(name);
      tenants[i] = { id, slug, key: issued.key, variable };
    });
    // The bindings, in one statement: the registry is one connection, which runs one statement at a time.
    await registry.query(
      "INSERT INTO tenants (id, slug, name, database_binding) SELECT id, slug, slug, 'env:' || variable FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, slug, variable)",
      [tenants.map((t) => t.id), tenants.map((t) => t.slug), tenants.map((t) => t.variable)],
    );
  } finally {
    await registry.end();
  }
}, 600_000);

afterAll(async () => {
  await gateway?.stop();
  // Each DROP DATABASE waits for a checkpoint; drops in flight together share one.
  await inBatches(names, 40, (name) => withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}));
  await control?.drop();
  for (const t of tenants) if (t) delete process.env[t.variable];
}, 900_000);

describe(`${TENANTS} tenants bound to databases of their own`, () => {
  it(`are all served by one gateway that holds at most ${CAP} connections to their databases, and closes idle ones`, async () => {
    // Start-up migrates (here: checks) every bound database.
    gateway = await startTestGateway(
      {
        TENANT_DATABASE_MAX_CONNECTIONS: String(CAP),
        TENANT_DATABASE_POOL_SIZE: String(POOL),
        TENANT_DATABASE_IDLE_MS: "2000",
        DATABASE_POOL_WAIT_MS: "20000",
      },
      control,
    );
    const monitor = new pg.Client({ connectionString: ADMIN_URL });
    await monitor.connect();
    const connections = async () => Number((await monitor.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ANY($1)", [names])).rows[0].n);
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await connections());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const statuses: number[] = [];
      const served: string[] = [];
      await inBatches(tenants, CONCURRENCY, async (tenant) => {
        const response = await graphql(gateway!.url, `{ viewer { tenant { id } } }`, {}, { "x-api-key": tenant.key });
        statuses.push(response.status);
        if (response.status !== 200) throw new Error(`tenant ${tenant.id}: ${response.status} ${JSON.stringify(errorCodes(response))}`);
        served.push(response.data.viewer.tenant.id);
      });
      expect(statuses.filter((s) => s === 200)).toHaveLength(TENANTS);
      expect(new Set(served)).toEqual(new Set(tenants.map((t) => t.id)));
      expect(gateway.tenantDatabases.usage.reservedConnections).toBeLessThanOrEqual(CAP);
    } finally {
      sampling = false;
      await sampler;
    }
    // The figure for the record: the most connections the server saw to the tenant databases at once.
    console.info(`${TENANTS} tenants served; at most ${most} connections to their databases at once (cap ${CAP})`);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(CAP);

    // Idle databases are closed: after the idle time every connection to them is gone.
    let left = await connections();
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      left = await connections();
    }
    expect(left).toBe(0);
    await monitor.end();
  }, 600_000);
});

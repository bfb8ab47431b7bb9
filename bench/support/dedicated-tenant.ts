import { randomBytes } from "node:crypto";
import { runCli } from "../../src/cli/cli.js";
import type { Config } from "../../src/config.js";
import { signLocalToken } from "../../src/identity/tokens.js";
import { DRIVING_TEST_POLICY } from "../../test/support/driving-test.js";
import { createTestDatabase, ensureTemplateDatabase } from "../../test/support/postgres.js";
import { BENCH_SECRET } from "./config.js";
import { gql } from "./graphql.js";

export interface DedicatedTenant {
  tenantId: string;
  /** The tenant's database (on the benchmark's server). */
  databaseUrl: string;
  /** A VIEW-scoped API key, issued in the tenant's own database. */
  key: string;
  /** The driving-test policy, published in the tenant's own database. */
  baseId: string;
  /** Drops the tenant's database; after the gateway has closed (it holds the tenant's pool until then). */
  drop(): Promise<void>;
}

/**
 * A tenant bound, as an operator does it (the CLI's `tenant bind --env VAR`), to a fresh database of its own on the
 * benchmark's Postgres server, with an admin, a VIEW key and the driving-test policy published through the
 * gateway: the dedicated counterpart of `setUpDrivingTest`'s shared tenant. The binding's variable is set in this
 * process's environment, which the in-process gateway resolves bindings from (and spawned gateways inherit).
 */
export async function setUpDedicatedTenant(gatewayUrl: string, config: Config): Promise<DedicatedTenant> {
  const db = await createTestDatabase(await ensureTemplateDatabase());
  try {
    const slug = `bench-dedicated-${randomBytes(4).toString("hex")}`;
    const variable = `VERDICT_BENCH_TENANT_DB_${randomBytes(4).toString("hex").toUpperCase()}`;
    process.env[variable] = db.url;
    const cli = async (args: string[]): Promise<any> => {
      let out = "";
      let err = "";
      const env = { ...process.env, DATABASE_URL: config.DATABASE_URL, AUTH_JWT_SECRET: BENCH_SECRET, LOG_LEVEL: "silent" };
      const code = await runCli(args, { env, out: (t) => (out += t), err: (t) => (err += t) });
      if (code !== 0) throw new Error(`cli ${args.slice(0, 2).join(" ")} failed: ${err}`);
      return args.includes("--json") ? JSON.parse(out) : out;
    };
    const tenant = await cli(["tenant", "create", "--slug", slug, "--name", "Bench dedicated", "--json"]);
    await cli(["tenant", "bind", "--tenant", slug, "--env", variable]);
    // The tenant's first user is its admin; the key and the user live in the tenant's database.
    const admin = await cli(["user", "add", "--tenant", slug, "--email", `admin@${slug}.test`, "--name", "Admin", "--json"]);
    const key = await cli(["key", "issue", "--tenant", slug, "--name", "bench", "--scope", "VIEW", "--json"]);
    const token = await signLocalToken({ secret: BENCH_SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }, admin.subject, "1h", tenant.id);
    const created = await gql(gatewayUrl, token, `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { id base { id } } }`, {
      input: { name: "driving test", content: DRIVING_TEST_POLICY },
    });
    await gql(gatewayUrl, token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: created.createPolicy.id, description: "benchmark" },
    });
    return { tenantId: tenant.id, databaseUrl: db.url, key: key.key, baseId: created.createPolicy.base.id, drop: db.drop };
  } catch (error) {
    await db.drop();
    throw error;
  }
}

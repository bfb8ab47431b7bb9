import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { runCli } from "../../src/cli/cli.js";
import { signLocalToken } from "../../src/identity/tokens.js";
import { CREATE_POLICY, PUBLISH } from "./operations.js";
import { DRIVING_TEST_POLICY } from "./driving-test.js";
import { graphql, TEST_JWT_SECRET, type TestGateway } from "./gateway.js";

/** The second Postgres server process the "own server" tests use (test/support/second-server.sh starts it). */
export const SECOND_SERVER_PORT = Number(process.env.TEST_SECOND_SERVER_PORT ?? 5488);

/** Starts (creating once) the second Postgres server on this machine; idempotent and safe to call from several files. */
export async function ensureSecondServer(): Promise<string> {
  await promisify(execFile)(path.join(import.meta.dirname, "second-server.sh"), [String(SECOND_SERVER_PORT)], { timeout: 120_000 });
  return `postgres://postgres@127.0.0.1:${SECOND_SERVER_PORT}/postgres`;
}

export function withDatabase(url: string, name: string): string {
  const copy = new URL(url);
  copy.pathname = `/${name}`;
  return copy.toString();
}

export async function onServer<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
  json(): any;
}

/** The operator's CLI against the gateway's control database, with the test process's environment (bindings resolve there). */
export async function controlCli(gateway: TestGateway, args: string[]): Promise<CliResult> {
  let out = "";
  let err = "";
  const env = { ...process.env, DATABASE_URL: gateway.db.url, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" };
  const code = await runCli(args, { env, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err, json: () => JSON.parse(out) };
}

export interface BoundTenant {
  id: string;
  slug: string;
  /** The environment variable (in this process) the binding names; encrypted bindings have none. */
  variable: string | null;
  adminSubject: string;
  /** An ADMIN user's token, carrying the tenant claim. */
  token: string;
  /** A VIEW + EDIT + PUBLISH key, issued by the CLI in the tenant's database. */
  key: string;
  keyPrefix: string;
}

/**
 * A new tenant bound, through the CLI, to the database at `url` (a fresh, empty or migrated database), with one
 * admin and one API key created in that database by the CLI.
 */
export async function createBoundTenant(gateway: TestGateway, url: string, how: "env" | "encrypt-env" = "env"): Promise<BoundTenant> {
  const slug = `bound-${randomBytes(4).toString("hex")}`;
  const expectOk = (result: CliResult, what: string) => {
    if (result.code !== 0) throw new Error(`${what} failed: ${result.err}`);
    return result;
  };
  const tenant = expectOk(await controlCli(gateway, ["tenant", "create", "--slug", slug, "--name", slug, "--json"]), "tenant create").json();
  const variable = `VERDICT_TEST_TENANT_DB_${randomBytes(4).toString("hex").toUpperCase()}`;
  process.env[variable] = url;
  expectOk(await controlCli(gateway, ["tenant", "bind", "--tenant", slug, `--${how}`, variable]), "tenant bind");
  if (how === "encrypt-env") delete process.env[variable];
  const admin = expectOk(
    await controlCli(gateway, ["user", "add", "--tenant", slug, "--email", `admin@${slug}.test`, "--name", "Admin", "--json"]),
    "user add",
  ).json();
  const key = expectOk(
    await controlCli(gateway, ["key", "issue", "--tenant", slug, "--name", "runs", "--scope", "VIEW", "--scope", "EDIT", "--scope", "PUBLISH", "--json"]),
    "key issue",
  ).json();
  const token = await signLocalToken({ secret: TEST_JWT_SECRET, issuer: "verdict", audience: "verdict-api" }, admin.subject, "1h", tenant.id);
  return { id: tenant.id, slug, variable: how === "env" ? variable : null, adminSubject: admin.subject, token, key: key.key, keyPrefix: key.prefix };
}

/** Creates and publishes the driving-test policy as the tenant's admin; returns its base ID. */
export async function publishDrivingTest(gatewayUrl: string, token: string, name = "driving test"): Promise<string> {
  const headers = { authorization: `Bearer ${token}` };
  const created = await graphql(gatewayUrl, CREATE_POLICY, { input: { name, content: DRIVING_TEST_POLICY } }, headers);
  if (!created.data) throw new Error(`createPolicy failed: ${JSON.stringify(created.errors)}`);
  const published = await graphql(gatewayUrl, PUBLISH, { input: { draftId: created.data.createPolicy.id, description: "first" } }, headers);
  if (!published.data) throw new Error(`publishDraft failed: ${JSON.stringify(published.errors)}`);
  return created.data.createPolicy.base.id;
}

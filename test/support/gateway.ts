import { inject } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { signLocalToken } from "../../src/identity/tokens.js";
import { createLogger, type Logger } from "../../src/logging.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { TcpProxy } from "./tcp-proxy.js";

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

export interface TestGateway extends Gateway {
  db: TestDatabase;
  /** A bearer token for the user with this subject. */
  tokenFor(subject: string): Promise<string>;
  stop(): Promise<void>;
}

/** A real gateway over HTTP on a random port, on a fresh database of its own (or a given one). */
export async function startTestGateway(overrides: Partial<Record<keyof Config, string>> = {}, existing?: TestDatabase, logger?: Logger): Promise<TestGateway> {
  const db = existing ?? (await createTestDatabase(inject("templateDatabase")));
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "silent",
    // The suite runs on machines shared by many processes, where a wall-clock deadline of 100 ms stops ordinary
    // evaluations that wait for a core; tests of the deadline itself set their own.
    EVALUATION_DEADLINE_MS: "5000",
    ...overrides,
  });
  const gateway = await startGateway(config, logger ?? createLogger(config.LOG_LEVEL));
  return {
    ...gateway,
    db,
    tokenFor: (subject) => signLocalToken({ secret: TEST_JWT_SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }, subject),
    async stop() {
      await gateway.close();
      if (!existing) await db.drop();
    },
  };
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown }; path?: (string | number)[] }[];
}

/** Sends one GraphQL operation the way a browser client does. */
export async function graphql<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, "status">;
  return { status: response.status, ...body };
}

export const errorCodes = (response: GraphQLResponse): (string | undefined)[] => (response.errors ?? []).map((e) => e.extensions?.code);

/**
 * Signs in every user of the given tenants; `as(name)` then sends operations with that user's token.
 * User names must be unique across the tenants.
 */
export async function signIn(gateway: TestGateway, ...tenants: { users: Record<string, { subject: string }> }[]) {
  const headers = new Map<string, Record<string, string>>();
  for (const tenant of tenants) {
    for (const [name, user] of Object.entries(tenant.users)) {
      headers.set(name, { authorization: `Bearer ${await gateway.tokenFor(user.subject)}` });
    }
  }
  return (name: string) =>
    <T = any>(query: string, variables: Record<string, unknown> = {}) => {
      const userHeaders = headers.get(name);
      if (!userHeaders) throw new Error(`No signed-in user named ${name}`);
      return graphql<T>(gateway.url, query, variables, userHeaders);
    };
}

export interface ProxiedGateway {
  gateway: TestGateway;
  /** Sits between the gateway and Postgres: cut it to simulate an outage, count the statements through it. */
  proxy: TcpProxy;
  stop(): Promise<void>;
}

/** A gateway on a fresh database whose every connection passes through a TCP proxy the test controls. */
export async function startGatewayBehindProxy(overrides: Partial<Record<keyof Config, string>> = {}): Promise<ProxiedGateway> {
  const db = await createTestDatabase(inject("templateDatabase"));
  const direct = new URL(db.url);
  const proxy = new TcpProxy(direct.hostname, Number(direct.port || 5432));
  const proxied = new URL(db.url);
  proxied.port = String(await proxy.start());
  const gateway = await startTestGateway({ ...overrides, DATABASE_URL: proxied.toString() }, { ...db, url: proxied.toString() });
  return {
    gateway,
    proxy,
    async stop() {
      await proxy.restore().catch(() => {});
      await gateway.stop();
      await proxy.cut();
      await db.drop();
    },
  };
}

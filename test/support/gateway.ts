import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { type DocumentNode, print } from "graphql";
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
  /** Typed as present so that a test reads what it checked: it is absent when the operation failed as a whole (check `errors`). */
  data: T;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown }; path?: (string | number)[] }[];
}

/** A document: the text of an operation, or a typed document from `operations/` (codegen). */
export type Document<R = any, V = any> = string | TypedDocumentNode<R, V>;

/** Sends one GraphQL operation the way a browser client does (the kit's `graphqlClient` names the caller for you). */
export async function graphql<T = any>(
  url: string,
  query: string | DocumentNode,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: typeof query === "string" ? query : print(query), variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, "status">;
  return { status: response.status, ...body };
}

export const errorCodes = (response: GraphQLResponse): (string | undefined)[] => (response.errors ?? []).map((e) => e.extensions?.code);

/**
 * Who sends an operation: the name of a user of a tenant the client knows, `{ user }` (any tenant's user, for
 * names that repeat across tenants), `{ key }` (an API key), `{ token }` (a bearer token), raw headers, or `null`
 * (no credential).
 */
export type Caller = string | { user: { subject: string } } | { key: string } | { token: string } | Record<string, string> | null;

export interface GraphQLClient {
  /** Sends `document` as `who`; a typed document types the answer's `data`. */
  <R = any, V extends Record<string, unknown> = Record<string, unknown>>(who: Caller, document: Document<R, V>, variables?: V): Promise<GraphQLResponse<R>>;
  /** The same, bound to one caller: `as("pat")(document, variables)`. */
  as(
    who: Caller,
  ): <R = any, V extends Record<string, unknown> = Record<string, unknown>>(document: Document<R, V>, variables?: V) => Promise<GraphQLResponse<R>>;
  /** The headers a caller's requests carry (for REST calls, subscriptions or raw fetches). */
  headersOf(who: Caller): Promise<Record<string, string>>;
  /** Makes the users of more tenants known by name. */
  signIn(...tenants: TenantUsers[]): void;
}

type TenantUsers = { users: Record<string, { subject: string }> };

/**
 * The one GraphQL helper: operations sent to `gateway` as a named user of the given tenants (user names must be
 * unique across them), an API key, a token, or anonymously.
 */
export function graphqlClient(gateway: TestGateway, ...tenants: TenantUsers[]): GraphQLClient {
  const subjects = new Map<string, string>();
  const tokens = new Map<string, Promise<string>>();
  const signIn = (...more: TenantUsers[]) => {
    for (const tenant of more) for (const [name, user] of Object.entries(tenant.users)) subjects.set(name, user.subject);
  };
  signIn(...tenants);
  async function headersOf(who: Caller): Promise<Record<string, string>> {
    if (who === null) return {};
    if (typeof who === "string") {
      const subject = subjects.get(who);
      if (!subject) throw new Error(`No signed-in user named ${who}`);
      if (!tokens.has(who)) tokens.set(who, gateway.tokenFor(subject));
      return { authorization: `Bearer ${await tokens.get(who)}` };
    }
    const keys = Object.keys(who);
    if (keys.length === 1 && "user" in who && typeof who.user === "object") return { authorization: `Bearer ${await gateway.tokenFor(who.user.subject)}` };
    if (keys.length === 1 && "key" in who) return { "x-api-key": who.key };
    if (keys.length === 1 && "token" in who) return { authorization: `Bearer ${who.token}` };
    return who as Record<string, string>;
  }
  const client = (async (who: Caller, document: Document, variables: Record<string, unknown> = {}) =>
    graphql(gateway.url, document, variables, await headersOf(who))) as GraphQLClient;
  client.as = (who) => (document, variables) => client(who, document, variables);
  client.headersOf = headersOf;
  client.signIn = signIn;
  return client;
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

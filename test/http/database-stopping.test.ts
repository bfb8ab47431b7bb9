import { afterAll, beforeAll, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { graphql, startGatewayBehindProxy, type ProxiedGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { POSTGRES_OUTAGE_ERRORS, type PostgresOutageError, type TcpProxy } from "../support/tcp-proxy.js";
import { authoring, post } from "../support/kit.js";

/**
 * Issue #12.4: while Postgres stops (fast or immediate shutdown) or starts, its FATAL errors (57P01, 57P02,
 * 57P03) reach the gateway wrapped in Prisma's driver-adapter error (P2039) or straight from the driver. Every
 * answer in such a window is a success or a 503 / SERVICE_UNAVAILABLE — never a 500.
 *
 * The proxy speaks the server's side of these windows (the same ErrorResponse messages Postgres sends), so the
 * windows are exact and repeatable without stopping the shared server.
 */
let behindProxy: ProxiedGateway;
let proxy: TcpProxy;
let gateway: TestGateway;
let tenant: TestTenant;

beforeAll(async () => {
  behindProxy = await startGatewayBehindProxy();
  ({ gateway, proxy } = behindProxy);
  tenant = await createTenant(gateway.database.prisma, { pat: ["PUBLISHER"] });
});
afterAll(() => behindProxy?.stop());

const windows: [string, PostgresOutageError | null, PostgresOutageError][] = [
  ["fast shutdown", POSTGRES_OUTAGE_ERRORS.fastShutdown, POSTGRES_OUTAGE_ERRORS.shuttingDown],
  ["immediate shutdown", POSTGRES_OUTAGE_ERRORS.immediateShutdown, POSTGRES_OUTAGE_ERRORS.shuttingDown],
  ["start-up", null, POSTGRES_OUTAGE_ERRORS.startingUp],
];

it.each(windows)("answers only successes and 503s through a %s window", async (_name, terminate, refuse) => {
  const token = await gateway.tokenFor(tenant.users.pat!.subject);
  const author = authoring(gateway, token);
  const policy = await author.policy(op.AGE_POLICY, true);
  const key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW", "EDIT"])).key;
  const data = { data: { Person: { age: 30 } } };

  // Every kind of statement the gateway makes: key lookups (fresh keys), runs with audit writes, Prisma reads and writes.
  const statuses: string[] = [];
  const load = async () => {
    const fresh = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"]).catch(() => ({ key }))).key;
    const calls = await Promise.all([
      post(gateway.url, `/run/policy/${policy.baseId}`, data, { key }).then((r) => `rest ${r.status} ${r.body?.code ?? ""}`),
      post(gateway.url, `/run/policy_version/${policy.recordId}`, data, { key: fresh }).then((r) => `rest ${r.status} ${r.body?.code ?? ""}`),
      graphql(gateway.url, op.BASES, { first: 5 }, { authorization: `Bearer ${token}` }).then(graphqlOutcome),
      graphql(gateway.url, op.CREATE_POLICY, { input: { name: `p-${Math.random()}`, content: op.AGE_POLICY } }, { "x-api-key": key }).then(graphqlOutcome),
      graphql(gateway.url, op.RUN_POLICY, { baseId: policy.baseId, data: data.data }, { authorization: `Bearer ${token}` }).then(graphqlOutcome),
    ]);
    statuses.push(...calls);
  };

  await load();
  expect(
    statuses.every((s) => s.startsWith("rest 200") || s === "graphql 200 ok"),
    statuses.join("\n"),
  ).toBe(true);
  statuses.length = 0;

  proxy.speakOutage(terminate, refuse);
  for (let round = 0; round < 5; round++) await load();
  proxy.serve();
  // Recovery: the pools reconnect by themselves.
  await expect.poll(async () => (await post(gateway.url, `/run/policy/${policy.baseId}`, data, { key })).status, { timeout: 15_000 }).toBe(200);

  const unavailable = statuses.filter(
    (s) => s === "rest 503 DATABASE_UNAVAILABLE" || s === "graphql 503 SERVICE_UNAVAILABLE" || s === "graphql 200 SERVICE_UNAVAILABLE",
  );
  const succeeded = statuses.filter((s) => s.startsWith("rest 200") || s === "graphql 200 ok");
  expect(unavailable.length, statuses.join("\n")).toBeGreaterThan(0);
  expect(unavailable.length + succeeded.length, statuses.join("\n")).toBe(statuses.length);
});

function graphqlOutcome(response: Awaited<ReturnType<typeof graphql>>): string {
  const codes = [...new Set((response.errors ?? []).map((e) => e.extensions?.code))];
  return `graphql ${response.status} ${codes.length === 0 ? "ok" : codes.join(",")}`;
}

import type * as grpc from "@grpc/grpc-js";
import pg from "pg";
import { afterEach, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createApiKey, createTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring } from "../support/kit.js";
import { grpcClients, runResponseJson, statusName, toStruct, unary, type GrpcClients } from "./support.js";

/**
 * Deadlines, cancellation and shutdown. To hold a call at a known point without timing, a second connection
 * locks the table the call must write next (EXCLUSIVE mode: reads go on, writes wait) and the test watches
 * pg_locks until the gateway's statement is waiting on it.
 */
interface Setup {
  gateway: TestGateway;
  clients: GrpcClients;
  key: string;
  baseId: string;
  /** The run request for the published policy. */
  request: object;
}

const opened: { gateway: TestGateway; clients: GrpcClients; admin: pg.Client }[] = [];
afterEach(async () => {
  for (const { gateway, clients, admin } of opened.splice(0)) {
    clients.close();
    await admin.end().catch(() => {});
    await gateway.close(); // idempotent: the tests close it themselves
    await gateway.db.drop();
  }
});

async function setUp(overrides: Record<string, string> = {}): Promise<Setup & { admin: pg.Client }> {
  const gateway = await startTestGateway({ GRPC_PORT: "0", ...overrides });
  const clients = grpcClients(gateway.grpcAddress!);
  const admin = new pg.Client({ connectionString: gateway.db.url });
  await admin.connect();
  opened.push({ gateway, clients, admin });
  const tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
  const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  const { baseId } = await author.policy(op.AGE_POLICY, true);
  const key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  const request = { baseId, data: toStruct({ Person: { age: 30 } }) };
  // One run first: the key is cached, the tenant's audit chain has its head row.
  expect(statusName(await unary(clients.policy, "RunPolicy", request, { key }))).toBe("OK");
  return { gateway, clients, key, baseId, request, admin };
}

/** Locks `table` against writes from a connection of its own until `release`. */
async function lockWrites(url: string, table: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
  return {
    async release() {
      await client.query("COMMIT");
      await client.end();
    },
  };
}

/** Resolves once a statement of this database waits for a lock on `table`. */
async function someoneWaitsOn(admin: pg.Client, table: string): Promise<void> {
  const waiting = async () =>
    (
      await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         WHERE c.relname = $1 AND NOT l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [table],
      )
    ).rows[0]!.n;
  await expect.poll(waiting, { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
}

const executedCount = async (admin: pg.Client, baseId: string) =>
  (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE base_id = $1 AND action = 'EXECUTED'`, [baseId])).rows[0]!.n;

it("serves no gRPC unless GRPC_PORT is set", () => {
  expect(loadConfig({}).GRPC_PORT).toBeUndefined();
  expect(loadConfig({ GRPC_PORT: "50051" }).GRPC_PORT).toBe(50051);
});

it("does not run a call whose deadline passed before its run began, and records nothing for it", async () => {
  // A limit under 200 a minute is counted request by request: every call writes rate_limit_windows.
  const { gateway, clients, key, baseId, request, admin } = await setUp({ RATE_LIMIT_PER_MINUTE: "150" });
  const lock = await lockWrites(gateway.db.url, "rate_limit_windows");
  const outcome = unary(clients.policy, "RunPolicy", request, { key, deadlineMs: 5_000 });
  await someoneWaitsOn(admin, "rate_limit_windows"); // the call is being counted, its run has not begun
  expect(statusName(await outcome)).toBe("DEADLINE_EXCEEDED");
  // The server reckons the deadline from when the call arrived, a moment after the client did: let it pass there too.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await lock.release();
  await gateway.close(); // waits for the call's handler to finish
  expect(await executedCount(admin, baseId)).toBe(1); // the first run only
});

it("finishes and records a run whose client cancelled while its event was being written", async () => {
  const { gateway, clients, key, baseId, request, admin } = await setUp();
  const lock = await lockWrites(gateway.db.url, "audit_chain_heads");
  let sent: grpc.ClientUnaryCall | undefined;
  const outcome = unary(clients.policy, "RunPolicy", request, { key, onCall: (call) => (sent = call) });
  await someoneWaitsOn(admin, "audit_chain_heads"); // evaluated; its event waits for the chain head
  sent!.cancel();
  expect(statusName(await outcome)).toBe("CANCELLED");
  await lock.release();
  await gateway.close();
  expect(await executedCount(admin, baseId)).toBe(2); // the run happened: its event is written, like REST's for a client that left
});

it("drains calls in flight on shutdown and refuses new ones", async () => {
  const { gateway, clients, key, baseId, request, admin } = await setUp();
  const lock = await lockWrites(gateway.db.url, "audit_chain_heads");
  const inFlight = unary(clients.policy, "RunPolicy", request, { key });
  await someoneWaitsOn(admin, "audit_chain_heads");
  let closed = false;
  const closing = gateway.close().then(() => (closed = true));

  const late = grpcClients(gateway.grpcAddress!);
  try {
    expect(statusName(await unary(late.policy, "RunPolicy", request, { key }))).toBe("UNAVAILABLE");
  } finally {
    late.close();
  }
  expect(closed).toBe(false);
  await lock.release();
  const answered = await inFlight;
  expect(statusName(answered)).toBe("OK");
  expect(runResponseJson(answered.response).result).toBe(true);
  await closing;
  expect(await executedCount(admin, baseId)).toBe(2);
});

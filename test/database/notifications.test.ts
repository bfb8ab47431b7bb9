import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Database } from "../../src/database/database.js";
import { connectPostgres } from "../../src/database/postgres.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { TcpProxy } from "../support/tcp-proxy.js";

/**
 * `Database.catchUp` is what lets a process answer from a cache kept fresh by notifications as if it had read
 * the database: once it resolves, every notification committed before the call has reached the subscribers.
 */
let db: TestDatabase;
let proxy: TcpProxy;
let listening: Database;
let writing: Database;
const received: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject("templateDatabase"));
  proxy = new TcpProxy("127.0.0.1", Number(new URL(db.url).port || 5432));
  const proxied = new URL(db.url);
  proxied.port = String(await proxy.start());
  listening = connectPostgres({ url: proxied.toString(), poolSize: 2, poolWaitMs: 2_000 });
  writing = connectPostgres({ url: db.url, poolSize: 2, poolWaitMs: 2_000 });
  await listening.listen("verdict_test_channel", (payload) => received.push(payload));
});
afterAll(async () => {
  await listening?.close();
  await writing?.close();
  await proxy?.cut();
  await db?.drop();
});

async function commitNotification(payload: string): Promise<void> {
  await writing.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_notify('verdict_test_channel', ${payload})`;
  });
}

describe("catching up with notifications", () => {
  it("has delivered every notification committed by another connection before the call", async () => {
    for (let i = 0; i < 50; i++) {
      await commitNotification(`change-${i}`);
      await listening.catchUp();
      expect(received.at(-1)).toBe(`change-${i}`);
    }
  });

  it("shares one round trip among the callers waiting at the same moment", async () => {
    await listening.catchUp();
    const before = proxy.statements;
    await Promise.all(Array.from({ length: 100 }, () => listening.catchUp()));
    // One probe may already be in flight for the first caller; everyone after it waits for the next one.
    expect(proxy.statements - before).toBeLessThanOrEqual(2);
    expect(proxy.statements - before).toBeGreaterThanOrEqual(1);
  });

  it("serves a caller asking from a moment on with a round trip sent since, and with a new one otherwise", async () => {
    await commitNotification("before-arrival");
    const arrived = process.hrtime.bigint();
    await listening.catchUp(arrived);
    expect(received.at(-1)).toBe("before-arrival");
    // A second cache consulted by the same request: the round trip just made answers for it.
    let before = proxy.statements;
    await listening.catchUp(arrived);
    expect(proxy.statements - before).toBe(0);
    // A request that arrived after that round trip was sent needs one of its own, and sees what was committed before it.
    await commitNotification("later");
    before = proxy.statements;
    await listening.catchUp(process.hrtime.bigint());
    expect(proxy.statements - before).toBe(1);
    expect(received.at(-1)).toBe("later");
  });

  it("rejects while the listening connection is away, tells subscribers to start clean, and recovers", async () => {
    received.length = 0;
    await proxy.cut();
    await expect(listening.catchUp()).rejects.toThrow();
    expect(received).toContain("*");
    await proxy.restore();
    await expect
      .poll(
        () =>
          listening.catchUp().then(
            () => "caught up",
            () => "not yet",
          ),
        { timeout: 10_000 },
      )
      .toBe("caught up");
    await commitNotification("after-outage");
    await listening.catchUp();
    expect(received.at(-1)).toBe("after-outage");
  });
});

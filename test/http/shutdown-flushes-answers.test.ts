import net from "node:net";
import { inject, afterAll, beforeAll, expect, it } from "vitest";
import { createApiKey, createTenant } from "../support/fixtures.js";
import { startTestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import * as op from "../support/operations.js";

/**
 * Issue #12.3: shutting down while a large answer is still being written must not cut it short. The client
 * reads slowly, so the 15 MB answer sits in the gateway's socket buffer (end() called, not yet flushed) when
 * shutdown begins; every byte must still arrive, then the connection closes.
 */
let db: TestDatabase;
let key: string;

beforeAll(async () => {
  db = await createTestDatabase(inject("templateDatabase"));
  const setup = await startTestGateway({}, db);
  const tenant = await createTenant(setup.database.prisma, { pat: ["PUBLISHER"] });
  key = (await createApiKey(setup.database.prisma, tenant.id, ["VIEW"])).key;
  await setup.close();
});
afterAll(() => db?.drop());

const ANSWER_BYTES = 15 * 1024 * 1024;

it("flushes a 15 MB answer in flight before closing, 20 times out of 20", async () => {
  // The answer echoes `data`: a 15 MB string makes a 15 MB answer.
  const body = JSON.stringify({ rule: op.AGE_POLICY, data: { Person: { age: 30 }, padding: "x".repeat(ANSWER_BYTES) } });
  for (let attempt = 0; attempt < 20; attempt++) {
    const gateway = await startTestGateway({ BODY_LIMIT_BYTES: String(32 * 1024 * 1024), SHUTDOWN_GRACE_MS: "20000" }, db);
    const { hostname, port } = new URL(gateway.url);
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((resolve, reject) => {
      socket.on("close", () => resolve());
      socket.on("error", reject);
    });
    const firstBytes = new Promise<void>((resolve) => socket.once("data", () => resolve()));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.write(`POST /run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-api-key: ${key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body);
    await firstBytes;
    // Stop reading: the rest of the answer waits in the gateway's buffers while it shuts down.
    socket.pause();
    const closing = gateway.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.resume();
    await closed;
    await closing;

    const received = Buffer.concat(chunks);
    const headEnd = received.indexOf("\r\n\r\n");
    const head = received.subarray(0, headEnd).toString();
    const declared = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    // The engine refuses a string this long (400 with the full policy body): an answer of 15 MB either way.
    expect(head, `attempt ${attempt}`).toMatch(/^HTTP\/1\.1 400/);
    expect(received.length - headEnd - 4, `attempt ${attempt}`).toBe(declared);
    const answer = JSON.parse(received.subarray(headEnd + 4).toString());
    expect(answer.data.padding.length, `attempt ${attempt}`).toBe(ANSWER_BYTES);
    expect(answer.error, `attempt ${attempt}`).toEqual(expect.any(String));
  }
}, 300_000);

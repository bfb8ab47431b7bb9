import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

/**
 * Issue #12.1 (product.md §7): a client still writing a body over the limit receives its 413, not a reset
 * connection. Like most HTTP clients, the sender here writes the whole request before reading the answer; a
 * server that closed the connection under it makes the write fail (EPIPE / ECONNRESET) and the test with it.
 */
let gateway: TestGateway;
let key: string;
let routes: string[];

beforeAll(async () => {
  gateway = await startTestGateway();
  const tenant = await createTenant(gateway.database.prisma, { pat: ["PUBLISHER"] });
  key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  routes = ["/run/policy/00000000-0000-4000-8000-000000000000", "/run", "/flow/test", "/run/flow_version/x", "/graphql", "/no-such-route"];
});
afterAll(() => gateway?.stop());

const MB = 1024 * 1024;

interface Sent {
  path: string;
  size: number;
  /** Pause between 64 KiB chunks; 0 writes as fast as the socket takes it. */
  pauseMs: number;
  chunked?: boolean;
  apiKey?: string | null;
}

/** Sends the whole request, then reads the whole answer; any socket error fails the exchange. */
function exchange({ path, size, pauseMs, chunked = false, apiKey = key }: Sent): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(received).toString("utf8");
      const [head = "", body = ""] = text.split("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
    socket.on("connect", async () => {
      const head = [
        `POST ${path} HTTP/1.1`,
        `host: ${hostname}`,
        "content-type: application/json",
        ...(apiKey ? [`x-api-key: ${apiKey}`] : []),
        chunked ? "transfer-encoding: chunked" : `content-length: ${size}`,
        "connection: close",
        "",
        "",
      ].join("\r\n");
      const write = (data: string | Buffer) => new Promise<void>((done, fail) => socket.write(data, (error) => (error ? fail(error) : done())));
      try {
        await write(head);
        const chunk = Buffer.alloc(64 * 1024, "a");
        for (let sent = 0; sent < size; sent += chunk.length) {
          const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
          await write(chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")]) : piece);
          if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        }
        if (chunked) await write("0\r\n\r\n");
      } catch (error) {
        reject(error);
      }
    });
  });
}

describe("a body over the limit is answered 413 {code, message} after the client has sent it", () => {
  const senders: [string, number, number][] = [];
  for (const size of [2, 5, 20])
    for (const [speed, pauseMs] of [
      ["fast", 0],
      ["slow", 1],
    ] as const)
      senders.push([speed, size, pauseMs]);

  it.each(senders)("%s sender, %i MB, 10 tries over every route", async (_speed, sizeMb, pauseMs) => {
    const tries = Array.from({ length: 10 }, (_, i) => routes[i % routes.length]!);
    // Five at a time, so the gateway also lingers on several connections at once.
    for (let i = 0; i < tries.length; i += 5) {
      const answers = await Promise.all(tries.slice(i, i + 5).map((path) => exchange({ path, size: sizeMb * MB, pauseMs }).then((a) => ({ path, ...a }))));
      for (const { path, status, body, headers } of answers) {
        expect(status, path).toBe(413);
        expect(JSON.parse(body), path).toEqual({ code: "PAYLOAD_TOO_LARGE", message: expect.any(String) });
        expect(headers.toLowerCase(), path).toContain("x-request-id:");
      }
    }
  });

  it("does the same for a chunked body that grows over the limit while read", async () => {
    for (const path of ["/run", "/run/flow/x", "/graphql"]) {
      const { status, body } = await exchange({ path, size: 5 * MB, pauseMs: 0, chunked: true });
      expect(status, path).toBe(413);
      expect(JSON.parse(body), path).toMatchObject({ code: "PAYLOAD_TOO_LARGE", message: expect.any(String) });
    }
  });

  it("lets an unauthenticated client still sending a large body hear its 401", async () => {
    const { status, body } = await exchange({ path: "/run", size: 5 * MB, pauseMs: 0, chunked: true, apiKey: null });
    expect(status).toBe(401);
    expect(JSON.parse(body)).toEqual({ code: "UNAUTHENTICATED", message: expect.any(String) });
  });

  it("still serves a body within the limit on the same kind of connection", async () => {
    const { hostname, port } = new URL(gateway.url);
    const body = JSON.stringify({ rule: op.AGE_POLICY, data: { Person: { age: 30 } } });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () =>
        socket.write(`POST /run HTTP/1.1\r\nhost: x\r\nx-api-key: ${key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`),
      );
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });
});

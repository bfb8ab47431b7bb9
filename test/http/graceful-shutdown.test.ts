import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.db.drop());

it("finishes a request already in flight when shutting down, then refuses new connections", async () => {
  const body = JSON.stringify({ query: "{ version { database } }" });
  const url = new URL(`${gateway.url}/graphql`);
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    request.on("error", reject);
    // Half the body now, the rest after shutdown has begun: the request is genuinely in flight.
    request.write(body.slice(0, 10));
    setTimeout(() => request.end(body.slice(10)), 300);
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = gateway.close();

  const { status, text } = await response;
  expect(status).toBe(200);
  expect(JSON.parse(text).data.version.database).toMatch(/PostgreSQL/);
  await closing;
  await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
});

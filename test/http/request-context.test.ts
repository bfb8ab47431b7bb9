import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestContext } from "../../src/http/request-context.js";
import { createLogger } from "../../src/logging.js";

/** Log lines as parsed objects, written by a real pino logger into memory. */
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let url: string;
let close: () => void;

beforeAll(async () => {
  const app = express();
  app.use(requestContext(createLogger("info", undefined, sink), app.request));
  app.get("/fails", (req, res) => {
    req.log.error({ what: "failed" }, "request failed");
    res.status(500).end();
  });
  app.get("/quiet", (_req, res) => {
    res.status(204).end();
  });
  const server = app.listen(0);
  await new Promise((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close?.());

describe("requestContext", () => {
  it("gives each request an ID and a logger that carries it, installed once on the app's request prototype", async () => {
    const first = await fetch(`${url}/fails`, { headers: { "x-request-id": "client-chosen.1" } });
    const second = await fetch(`${url}/fails`);
    await fetch(`${url}/quiet`, { headers: { "x-request-id": "quiet-one" } });
    expect(first.headers.get("x-request-id")).toBe("client-chosen.1");
    const generated = second.headers.get("x-request-id");
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    const failures = lines.filter((line) => line.msg === "request failed");
    // Each request's own child logger: the second did not reuse the first one's.
    expect(failures.map((line) => [line.requestId, line.what])).toEqual([
      ["client-chosen.1", "failed"],
      [generated, "failed"],
    ]);
    const finished = lines.filter((line) => line.msg === "request finished").map((line) => [line.requestId, line.status]);
    expect(finished).toEqual([
      ["client-chosen.1", 500],
      [generated, 500],
      ["quiet-one", 204],
    ]);
  });
});

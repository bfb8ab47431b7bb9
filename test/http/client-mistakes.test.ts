import { Writable } from "node:stream";
import { brotliCompressSync } from "node:zlib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Issue #12.6 and #12.7, in production mode and without credentials: what a client gets wrong is a 4xx in the
 * API's error convention, never logged at error level or with a stack; and no answer suggests schema names.
 */
let gateway: TestGateway;
const logs: { level: number; msg?: string; err?: { stack?: string } }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  gateway = await startTestGateway({ NODE_ENV: "production" }, undefined, pino({ level: "debug" }, sink));
});
afterAll(() => gateway?.stop());

async function send(body: string | Uint8Array, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}
const graphqlDocument = (query: string, extra: Record<string, unknown> = {}) => JSON.stringify({ query, ...extra });

describe("client mistakes are 4xx in the error convention, logged below error level without a stack", () => {
  const graphqlMistakes: [string, () => Promise<{ status: number; body: any }>][] = [
    ["over the token limit", () => send(graphqlDocument(`{ ${"version { gateway } ".repeat(800)} }`))],
    ["a persisted query that is not an object", () => send(JSON.stringify({ extensions: { persistedQuery: "junk" } }))],
    ["a persisted query of an unknown version", () => send(JSON.stringify({ extensions: { persistedQuery: { version: 7, sha256Hash: "x" } } }))],
    [
      "a persisted query whose hash does not match",
      () => send(graphqlDocument("{ version { gateway } }", { extensions: { persistedQuery: { version: 1, sha256Hash: "abc" } } })),
    ],
    ["a persisted query hash with nothing stored", () => send(JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: "f".repeat(64) } } }))],
    // Subscriptions are served over WebSocket (graphql-ws) only.
    ["a subscription operation over HTTP", () => send(graphqlDocument("subscription { version { gateway } }"))],
  ];

  it.each(graphqlMistakes)("%s → 4xx BAD_USER_INPUT", async (_name, attempt) => {
    const before = logs.length;
    const { status, body } = await attempt();
    expect(status).toBeGreaterThanOrEqual(200); // a missing persisted query is a 200 by the APQ protocol
    expect(status).toBeLessThan(500);
    expect(body.errors.length).toBeGreaterThan(0);
    for (const error of body.errors) {
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
      expect(error.message).not.toMatch(/internal/i);
    }
    expectQuietLogs(before);
  });

  const bodyMistakes: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
    ["content-encoding br with a body that is not brotli", () => send(Buffer.from("not brotli at all"), { "content-encoding": "br" }), 400, "VALIDATION_ERROR"],
    ["content-encoding gzip with a body that is not gzip", () => send(Buffer.from("not gzip"), { "content-encoding": "gzip" }), 400, "VALIDATION_ERROR"],
    ["an unknown content-encoding", () => send(Buffer.from("{}"), { "content-encoding": "x-unknown" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["charset=foo", () => send(graphqlDocument("{ version { gateway } }"), { "content-type": "application/json; charset=foo" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
  ];

  it.each(bodyMistakes)("%s → %d {code, message}", async (_name, attempt, expectedStatus, code) => {
    const before = logs.length;
    const { status, body } = await attempt();
    expect(status).toBe(expectedStatus);
    expect(body).toEqual({ code, message: expect.any(String) });
    expectQuietLogs(before);
  });

  it("still reads a well-formed compressed body", async () => {
    const { status, body } = await send(brotliCompressSync(graphqlDocument("{ version { gateway } }")), { "content-encoding": "br" });
    expect(status).toBe(200);
    expect(body.data.version.gateway).toEqual(expect.any(String));
  });
});

function expectQuietLogs(from: number): void {
  const lines = logs.slice(from);
  expect(
    lines.some((line) => line.msg === "request finished"),
    "the access log still records the request",
  ).toBe(true);
  expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  expect(lines.filter((line) => JSON.stringify(line).includes("stack"))).toEqual([]);
}

describe("production mode suggests nothing", () => {
  // Each mistake, and the name graphql-js would suggest for it.
  const mistakes: [string, string, Record<string, unknown> | undefined, string][] = [
    ["an enum value literal", "{ bases(filter: {kind: POLIC}) { totalCount } }", undefined, '"POLICY"'],
    ["an enum value in a variable", "query($f: BaseFilter) { bases(filter: $f) { totalCount } }", { f: { kind: "POLIC" } }, '"POLICY"'],
    ["a field", "{ versio { gateway } }", undefined, '"version"'],
    ["an argument", "{ bases(filtr: {kind: POLICY}) { totalCount } }", undefined, '"filter"'],
    ["a type", "query($f: BaseFiltr) { bases(filter: $f) { totalCount } }", undefined, '"BaseFilter"'],
    ["an input field literal", "{ bases(filter: {kinds: POLICY}) { totalCount } }", undefined, '"kind"'],
    ["an input field in a variable", "query($f: BaseFilter) { bases(filter: $f) { totalCount } }", { f: { kinds: "POLICY" } }, '"kind"'],
  ];

  it.each(mistakes)("%s", async (_name, query, variables, suggestion) => {
    const { status, body } = await send(JSON.stringify({ query, variables }));
    expect(status).toBe(400);
    expect(body.errors.length).toBeGreaterThan(0);
    for (const error of body.errors) {
      expect(error.extensions.code).toBe("BAD_USER_INPUT");
      expect(error.message).not.toMatch(/did you mean|suggestion/i);
      expect(error.message).not.toContain(suggestion);
    }
  });
});

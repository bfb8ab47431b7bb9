/**
 * Issue #11, fair sharing: a large body is parsed, evaluated and echoed without the event loop parsing, serialising
 * or encoding it (src/modules/execution/large-data.ts). Structural, not timed: while large requests are answered,
 * the gateway's thread (this test's: the gateway runs in this process, its worker pool in threads of their own) must
 * not call JSON.parse on a long text, JSON.stringify into one, or encode or decode one; the pool counts the bodies
 * it parsed. The answers stay byte for byte what the ordinary path writes, errors included.
 */
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy, evaluatePolicy } from "../../src/engine/index.js";
import { LargeData } from "../../src/modules/execution/large-data.js";
import { LARGE_BODY_BYTES } from "../../src/rest/run.routes.js";
import { type Authoring, startRunWorld, type TestGateway } from "../support/kit.js";

let gateway: TestGateway;
let viewKey: string;
let author: Authoring;

beforeAll(async () => {
  ({ gateway, viewKey, author } = await startRunWorld());
});
afterAll(() => gateway?.stop());

// Wide data (the costliest shape to parse), numbers a double would change (echoed as sent) and text beyond ASCII.
const KEYS = 12_000;
const DATA_TEXT = `{"x":{${Array.from({ length: KEYS }, (_, i) => `"k${i}":${i}`).join(",")}},"big":1541815603606036481,"f":1.0,"s":"é ✓"}`;
const DATA = JSON.parse(DATA_TEXT) as Record<string, unknown>;
const RULE = `A **x** is ok if __k${KEYS - 1}__ of **x** is greater than 5.`;

/** Long texts the gateway's thread parsed, serialised, encoded or decoded while `during` ran. */
async function largeWorkOnThisThread(during: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const long = (length: number) => length > LARGE_BODY_BYTES;
  const { parse, stringify } = JSON;
  const { from } = Buffer;
  const decode = Buffer.prototype.toString;
  JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
    if (typeof text === "string" && long(text.length)) seen.push(`JSON.parse(${text.length})`);
    return parse(text, reviver);
  }) as typeof JSON.parse;
  JSON.stringify = ((...args: Parameters<typeof stringify>) => {
    const text = stringify(...args);
    if (typeof text === "string" && long(text.length)) seen.push(`JSON.stringify(→ ${text.length})`);
    return text;
  }) as typeof JSON.stringify;
  Buffer.from = ((value: unknown, ...rest: unknown[]) => {
    if (typeof value === "string" && long(value.length)) seen.push(`Buffer.from(${value.length} characters)`);
    return (from as (...a: unknown[]) => Buffer)(value, ...rest);
  }) as typeof Buffer.from;
  Buffer.prototype.toString = function (this: Buffer, ...args: unknown[]) {
    if (long(this.length)) seen.push(`Buffer#toString(${this.length} bytes)`);
    return (decode as (...a: unknown[]) => string).apply(this, args);
  } as typeof decode;
  try {
    await during();
  } finally {
    Object.assign(JSON, { parse, stringify });
    Buffer.from = from;
    Buffer.prototype.toString = decode;
  }
  return seen;
}

/** Sends a body already encoded (so that the client's own encoding is not counted) and keeps the answer's bytes. */
interface Answer {
  status: number;
  bytes: Uint8Array;
}

async function send(path: string, body: Uint8Array<ArrayBuffer>): Promise<Answer> {
  const response = await fetch(gateway.url + path, { method: "POST", headers: { "content-type": "application/json", "x-api-key": viewKey }, body });
  return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) };
}

const encoded = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);
const decoded = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The policy answer as the ordinary path writes it, up to the timings: from the engine's own answer. */
function expectedPolicyAnswer(rule: string): string {
  const expected = evaluatePolicy(compilePolicy(rule), DATA);
  return (
    `{"result":${expected.result},"trace":${JSON.stringify(expected.trace)},"rule":${JSON.stringify(expected.rule)},"data":${DATA_TEXT}` +
    `,"error":${JSON.stringify(expected.error)},"labels":${JSON.stringify(expected.labels)},"execution":`
  );
}

describe("large bodies are parsed in the worker pool, not on the event loop", () => {
  it("POST /run: the pool parses the body; the answer is byte for byte the ordinary one, digits and UTF-8 kept", async () => {
    const body = encoded(`{"rule":${JSON.stringify(RULE)},"data":${DATA_TEXT},"tests":[1,2]}`);
    expect(body.length).toBeGreaterThan(LARGE_BODY_BYTES);
    const parsedBefore = gateway.services.evaluator.bodiesParsed;
    let answer: Answer = { status: 0, bytes: new Uint8Array() };
    const work = await largeWorkOnThisThread(async () => {
      answer = await send("/run", body);
    });
    expect(work).toEqual([]);
    expect(gateway.services.evaluator.bodiesParsed).toBe(parsedBefore + 1);
    expect(answer.status).toBe(200);
    const text = decoded(answer.bytes);
    expect(text.startsWith(expectedPolicyAnswer(RULE))).toBe(true);
    expect(JSON.parse(text).execution.engine).toMatch(/^\d+$/);
  });

  it("POST /run/policy: a stored policy on large data, evaluation errors as the ordinary 400 with the full body", async () => {
    const failing = `A **x** is ok if __k${KEYS - 1}__ of **x** is greater than "five" and __k1__ of **x** is greater than 0.`;
    const policy = await author.policy(failing, true);
    const body = encoded(`{"data":${DATA_TEXT}}`);
    const mainParsesBefore = LargeData.mainThreadParses;
    let answer: Answer = { status: 0, bytes: new Uint8Array() };
    const work = await largeWorkOnThisThread(async () => {
      answer = await send(`/run/policy/${policy.baseId}`, body);
    });
    expect(work).toEqual([]);
    expect(LargeData.mainThreadParses).toBe(mainParsesBefore);
    const expected = evaluatePolicy(compilePolicy(failing), DATA);
    expect(answer.status).toBe(expected.error === null ? 200 : 400);
    expect(decoded(answer.bytes).startsWith(expectedPolicyAnswer(failing))).toBe(true);
  });

  it("POST /flow/test: every node runs in the pool on the same bytes, and echoes them", async () => {
    const policy = await author.policy(RULE, true);
    const flow = `flow:\n  start:\n${["a", "b", "c"].map((id) => `    - id: ${id}\n      type: start\n      policyId: ${policy.baseId}\n`).join("")}`;
    const body = encoded(`{"flow":${JSON.stringify(flow)},"data":${DATA_TEXT}}`);
    let answer: Answer = { status: 0, bytes: new Uint8Array() };
    const work = await largeWorkOnThisThread(async () => {
      answer = await send("/flow/test", body);
    });
    expect(work).toEqual([]);
    expect(answer.status).toBe(200);
    const text = decoded(answer.bytes);
    expect(text.split(`"data":${DATA_TEXT}`)).toHaveLength(4); // three echoes, each exactly as sent
    const parsed = JSON.parse(text);
    expect(parsed.result).toBe(true);
    expect(parsed.nodeResponse.map((node: { nodeId: string }) => node.nodeId)).toEqual(["a", "b", "c"]);
  });

  it("POST /flow/test: a node's long trace is written as the worker's text, not parsed and serialised here", async () => {
    const rule = 'A **x** is ok if __s__ of **x** contains "a".';
    const data = { x: { s: "a".repeat(LARGE_BODY_BYTES) } };
    const policy = await author.policy(rule, true);
    const flow = `flow:\n  start:\n${["a", "b"].map((id) => `    - id: ${id}\n      type: start\n      policyId: ${policy.baseId}\n`).join("")}`;
    const body = encoded(JSON.stringify({ flow, data }));
    let answer: Answer = { status: 0, bytes: new Uint8Array() };
    const work = await largeWorkOnThisThread(async () => {
      answer = await send("/flow/test", body);
    });
    // The engine's flow copied each node's response and read its trace: parsed here, then serialised again.
    expect(work).toEqual([]);
    expect(answer.status).toBe(200);
    const trace = JSON.stringify(evaluatePolicy(compilePolicy(rule), data).trace);
    expect(trace.length).toBeGreaterThan(LARGE_BODY_BYTES);
    expect(decoded(answer.bytes).split(`"trace":${trace},`)).toHaveLength(3);
  });

  it("refuses a malformed or misshapen large body exactly as a small one", async () => {
    const pad = "a".repeat(LARGE_BODY_BYTES);
    const cases: [string, string, string][] = [
      ["/run", `{"rule":"x","data":{"pad":"${pad}"`, `{"rule":"x","data":{"pad":"a"`],
      ["/run", `{"rule":7,"data":["${pad}"]}`, `{"rule":7,"data":["a"]}`],
      ["/run", `["${pad}"]`, `["a"]`],
      ["/run", `{"data":{"pad":"${pad}"}}`, `{"data":{"pad":"a"}}`],
      ["/flow/test", `{"flow":"x","data":{"pad":"${pad}"`, `{"flow":"x","data":{"pad":"a"`],
      ["/flow/test", `{"flow":{"pad":"${pad}"},"data":{}}`, `{"flow":{"pad":"a"},"data":{}}`],
    ];
    for (const [path, large, small] of cases) {
      const [big, little] = [await send(path, encoded(large)), await send(path, encoded(small))];
      expect({ path, status: big.status, body: decoded(big.bytes) }).toEqual({ path, status: little.status, body: decoded(little.bytes) });
      expect(big.status).toBe(400);
    }
  });
});

/**
 * GraphQL (src/server/large-graphql-body.ts): the same, for bodies declaring their length, sent in chunks without
 * one, or compressed (src/server/streamed-body.ts). Each answer is compared with express.json's ordinary path, which a
 * body takes when its content type carries a parameter other than the charset (the large-body path leaves those
 * alone; each comparison also checks that the pool did not parse the ordinary one).
 */
describe("large GraphQL bodies are parsed in the worker pool, not on the event loop", () => {
  const RUN_RULE = "mutation Run($rule: String!, $data: JSONObject!) { runRule(rule: $rule, data: $data) { result trace rule data error labels } }";
  type Sending = "declared" | "chunked" | "gzip" | "br" | "deflate" | "ordinary" | "ordinary gzip";

  async function graphql(text: string | Uint8Array, options: { as?: Sending; key?: string } = {}): Promise<{ status: number; text: string }> {
    const as = options.as ?? "declared";
    let bytes: Uint8Array = typeof text === "string" ? encoded(text) : text;
    const headers: Record<string, string> = { "content-type": "application/json", "x-api-key": options.key ?? viewKey };
    if (as.startsWith("ordinary")) headers["content-type"] = "application/json; path=ordinary";
    const encoding = as === "ordinary gzip" ? "gzip" : as;
    if (encoding === "gzip" || encoding === "br" || encoding === "deflate") {
      bytes = encoding === "gzip" ? gzipSync(bytes) : encoding === "br" ? brotliCompressSync(bytes) : deflateSync(bytes);
      headers["content-encoding"] = encoding;
    }
    // A stream has no length to declare: fetch sends it in chunks.
    const chunked = as === "chunked";
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers,
      body: chunked ? new Blob([bytes as Uint8Array<ArrayBuffer>]).stream() : (bytes as Uint8Array<ArrayBuffer>),
      ...(chunked ? { duplex: "half" } : {}),
    } as RequestInit);
    return { status: response.status, text: await response.text() };
  }

  /** The ordinary path's answer (express.json), checking that the pool did not parse that body. */
  async function ordinary(text: string | Uint8Array, key?: string, as: Sending = "ordinary"): Promise<{ status: number; text: string }> {
    const parsedBefore = gateway.services.evaluator.bodiesParsed;
    const answer = await graphql(text, { as, key });
    expect(gateway.services.evaluator.bodiesParsed).toBe(parsedBefore);
    return answer;
  }

  it.each(["declared", "chunked", "gzip", "br"] as const)(
    "runRule sent %s: the pool parses the body and the run evaluates there; the answer is the ordinary one, digits and UTF-8 kept",
    async (as) => {
      const body = `{"query":${JSON.stringify(RUN_RULE)},"variables":{"rule":${JSON.stringify(RULE)},"data":${DATA_TEXT}}}`;
      expect(body.length).toBeGreaterThan(LARGE_BODY_BYTES);
      const parsedBefore = gateway.services.evaluator.bodiesParsed;
      const mainParsesBefore = LargeData.mainThreadParses;
      let answer = { status: 0, text: "" };
      const work = await largeWorkOnThisThread(async () => {
        answer = await graphql(body, { as });
      });
      // The echo is decoded here (not parsed): the answer is a string for Apollo.
      expect(work.filter((entry) => entry.startsWith("JSON."))).toEqual([]);
      expect(gateway.services.evaluator.bodiesParsed).toBe(parsedBefore + 1);
      expect(LargeData.mainThreadParses).toBe(mainParsesBefore);
      expect(answer.text).toContain(`"data":${DATA_TEXT}`);
      expect(answer).toEqual(await ordinary(body));
      expect(JSON.parse(answer.text).data.runRule.result).toBe(evaluatePolicy(compilePolicy(RULE), DATA).result);
    },
  );

  it("a run that does not select `data` or `trace` decodes nothing long on the event loop (the echo is made when selected)", async () => {
    const LEAN = "mutation Run($rule: String!, $data: JSONObject!) { runRule(rule: $rule, data: $data) { result error } }";
    const body = `{"query":${JSON.stringify(LEAN)},"variables":{"rule":${JSON.stringify(RULE)},"data":${DATA_TEXT}}}`;
    let answer = { status: 0, text: "" };
    const work = await largeWorkOnThisThread(async () => {
      answer = await graphql(body);
    });
    // Decoding the data's bytes made a string of the data's size per request, for an echo nobody asked for.
    expect(work).toEqual([]);
    expect(answer).toEqual(await ordinary(body));
    expect(JSON.parse(answer.text).data.runRule).toEqual({ result: evaluatePolicy(compilePolicy(RULE), DATA).result, error: null });
  });

  it("testFlow: nodes' long traces are written as the workers' texts; the answer is the ordinary one", async () => {
    const rule = 'A **x** is ok if __s__ of **x** contains "a".';
    const policy = await author.policy(rule, true);
    const flow = `flow:\n  start:\n${["a", "b"].map((id) => `    - id: ${id}\n      type: start\n      policyId: ${policy.baseId}\n`).join("")}`;
    const query = "mutation Test($flow: String!, $data: JSONObject!) { testFlow(definition: $flow, data: $data) { result nodeResponse { nodeId response } } }";
    const body = `{"query":${JSON.stringify(query)},"variables":{"flow":${JSON.stringify(flow)},"data":{"x":{"s":"${"a".repeat(LARGE_BODY_BYTES)}"}}}}`;
    let answer = { status: 0, text: "" };
    const work = await largeWorkOnThisThread(async () => {
      answer = await graphql(body);
    });
    expect(work.filter((entry) => entry.startsWith("JSON."))).toEqual([]);
    expect(answer).toEqual(await ordinary(body));
    const nodes = JSON.parse(answer.text).data.testFlow.nodeResponse;
    expect(nodes).toHaveLength(2);
    expect(JSON.stringify(nodes[0].response.trace).length).toBeGreaterThan(LARGE_BODY_BYTES);
  });

  it("takes only variables that feed a run's data; refusals are the ordinary path's", async () => {
    const pad = "a".repeat(LARGE_BODY_BYTES);
    const deep = `${'{"a":'.repeat(1_001)}1${"}".repeat(1_001)}`;
    const cases: [string, string?][] = [
      // A long rule text (a String variable) and the data used elsewhere too: plain values, as before.
      [`{"query":${JSON.stringify(RUN_RULE)},"variables":{"rule":${JSON.stringify(`${RULE}\n${"#".repeat(LARGE_BODY_BYTES)}`)},"data":{"x":{"k1":1}}}}`],
      [
        `{"query":"mutation($d: JSONObject!) { a: runRule(rule: \\"A **x** is ok if __s__ of **x** is equal to \\\\\\"${pad}\\\\\\".\\", data: $d) { result data } b: runRule(rule: \\"A **x** is ok if __s__ of **x** is equal to \\\\\\"a\\\\\\".\\", data: {y: [$d]}) { result data } }","variables":{"d":{"x":{"s":"${pad}"}}}}`,
      ],
      // Too deep, malformed, not an object or array, not a GraphQL body, a refused key.
      [`{"query":${JSON.stringify(RUN_RULE)},"variables":{"rule":"A **x** is ok if __a__ of **x** exists.","data":${deep},"pad":"${pad}"}}`],
      [`{"query":${JSON.stringify(RUN_RULE)},"variables":{"data":{"pad":"${pad}"}`],
      [` "${pad}"`],
      [`["${pad}"]`],
      [`{"query":${JSON.stringify(RUN_RULE)},"variables":{"rule":"x","data":{"pad":"${pad}"}}}`, "vk_not-a-key"],
    ];
    for (const [body, key] of cases) {
      expect(body.length).toBeGreaterThan(LARGE_BODY_BYTES);
      const expected = await ordinary(body, key);
      for (const as of ["declared", "chunked", "gzip"] as const) {
        const parsedBefore = gateway.services.evaluator.bodiesParsed;
        const answer = await graphql(body, { as, key });
        expect({ body: body.slice(0, 120), as, ...answer }).toEqual({ body: body.slice(0, 120), as, ...expected });
        // Parsed in the pool unless refused before its body was read, or not JSON of an object or array.
        const parsed = key === undefined && !body.startsWith(" ");
        expect({ as, parsed: gateway.services.evaluator.bodiesParsed - parsedBefore }).toEqual({ as, parsed: parsed ? 1 : 0 });
      }
    }
  });

  it("small bodies sent in chunks or compressed are parsed on the loop, with the ordinary path's answers", async () => {
    const bodies = [
      `{"query":${JSON.stringify(RUN_RULE)},"variables":{"rule":${JSON.stringify(RULE)},"data":{"x":{"k${KEYS - 1}":9},"big":1541815603606036481}}}`,
      `\ufeff{"query":"{ __typename }"}`,
      `{"query":"{ __typename }"`,
      ` "not an object"`,
      "",
    ];
    for (const body of bodies) {
      const expected = await ordinary(body);
      for (const as of ["chunked", "gzip", "br", "deflate"] as const) {
        const parsedBefore = gateway.services.evaluator.bodiesParsed;
        expect({ body, as, ...(await graphql(body, { as })) }).toEqual({ body, as, ...expected });
        expect(gateway.services.evaluator.bodiesParsed).toBe(parsedBefore);
      }
    }
    // A body that does not decompress is the ordinary path's 400.
    const notGzip = encoded(`{"query":"{ __typename }"}`);
    const refused = await graphql(notGzip, { as: "ordinary" });
    expect(refused.status).toBe(200);
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", "x-api-key": viewKey },
      body: notGzip,
    });
    const ordinaryResponse = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json; path=ordinary", "content-encoding": "gzip", "x-api-key": viewKey },
      body: notGzip,
    });
    expect({ status: response.status, body: await response.json() }).toEqual({ status: ordinaryResponse.status, body: await ordinaryResponse.json() });
    expect(response.status).toBe(400);
  });

  it("a body over the limit once decompressed (a zip bomb) or sent in chunks is a clear 413, as on the ordinary path", async () => {
    const limit = 1024 * 1024; // BODY_LIMIT_BYTES's default, which the test gateway keeps
    // 64 MiB of spaces inside a string: about 64 KiB compressed.
    const bomb = gzipSync(Buffer.concat([encoded(`{"query":"{ __typename }","variables":{"pad":"`), Buffer.alloc(64 * 1024 * 1024, " "), encoded(`"}}`)]));
    expect(bomb.length).toBeLessThan(limit);
    const send = async (contentType: string) => {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": contentType, "content-encoding": "gzip", "x-api-key": viewKey },
        body: bomb,
      });
      return { status: response.status, text: await response.text() };
    };
    const expected = { status: 413, text: JSON.stringify({ code: "PAYLOAD_TOO_LARGE", message: `The request body is larger than ${limit} bytes` }) };
    const parsedBefore = gateway.services.evaluator.bodiesParsed;
    expect(await send("application/json; path=ordinary")).toEqual(expected);
    expect(await send("application/json")).toEqual(expected);
    const oversize = `{"query":"{ __typename }","variables":{"pad":"${"a".repeat(limit)}"}}`;
    expect(await graphql(oversize, { as: "chunked" })).toEqual(expected);
    expect(gateway.services.evaluator.bodiesParsed).toBe(parsedBefore);
  });
});

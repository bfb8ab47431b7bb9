/**
 * Issue #11, fair sharing, over gRPC: a request message over LARGE_MESSAGE_BYTES (a multi-megabyte `data` Struct) is
 * decoded, converted to JSON and its echo encoded in the evaluation pool, after the key is authenticated, not on the
 * event loop (src/grpc/server.ts). Structural, not timed: while such a call is answered, the gateway's thread (this
 * test's: the pool runs in threads of its own, with their own protobufjs) must not read or write the data's numbers
 * with protobufjs, and the pool counts the messages it decoded. Answers and refusals are those of a message decoded
 * on the loop.
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy, evaluatePolicy } from "../../src/engine/index.js";
import { type AnswerMessage, encodeAnswer, EncodedStruct, HOLDS_ENCODED } from "../../src/grpc/encoded-answer.js";
import { EXECUTION_PROTO, LARGE_MESSAGE_BYTES } from "../../src/grpc/proto.js";
import { LargeData } from "../../src/modules/execution/large-data.js";
import { jsonToStruct } from "../../src/shared/protobuf-struct.js";
import { type Authoring, startRunWorld, type TestGateway } from "../support/kit.js";
import { flowResponseJson, fromStruct, grpcClients, runResponseJson, statusName, toStruct, unary, type GrpcClients } from "./support.js";

let gateway: TestGateway;
let viewKey: string;
let author: Authoring;
let clients: GrpcClients;
let RunPolicyRequest: protobuf.Type;
let RunResponse: protobuf.Type;
let FlowResponse: protobuf.Type;

beforeAll(async () => {
  ({ gateway, viewKey, author } = await startRunWorld({ GRPC_PORT: "0" }));
  clients = grpcClients(gateway.grpcAddress!);
  const root = await protobuf.load(EXECUTION_PROTO);
  RunPolicyRequest = root.lookupType("policy.v1.RunPolicyRequest");
  RunResponse = root.lookupType("policy.v1.RunResponse");
  FlowResponse = root.lookupType("policy.v1.FlowResponse");
});
afterAll(async () => {
  clients?.close();
  await gateway?.stop();
});

// Wide data with numbers, strings beyond ASCII, nulls, lists and nesting: every kind a Value has.
const KEYS = 12_000;
const DATA: Record<string, unknown> = {
  x: Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`k${i}`, i % 3 === 0 ? i + 0.5 : i % 3 === 1 ? `é ✓ ${i}` : null])),
  list: [1, "two", true, null, { three: [3] }],
  "-0": -0,
};
const RULE = `A **x** is ok if __k${KEYS - 2}__ of **x** is greater than 5.`;
const pad = (data: Record<string, unknown>) => ({ ...data, pad: "a".repeat(LARGE_MESSAGE_BYTES) });

/** Sends an encoded request and keeps the answer's bytes undecoded (so that this thread's protobufjs does nothing). */
function sendRaw(
  method: "RunPolicy" | "RunFlow",
  bytes: Uint8Array,
  key: string | null = viewKey,
): Promise<{ error: grpc.ServiceError | null; bytes?: Buffer }> {
  const client = method === "RunPolicy" ? clients.policy : clients.flow;
  const metadata = new grpc.Metadata();
  if (key) metadata.set("x-api-key", key);
  const path = method === "RunPolicy" ? "/policy.v1.PolicyService/RunPolicy" : "/policy.v1.FlowService/RunFlow";
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      metadata,
      (error, answer) => resolve({ error, bytes: answer }),
    ),
  );
}

/** protobufjs reads and writes of doubles on this thread while `during` runs (a Struct's numbers are doubles). */
async function doublesOnThisThread(during: () => Promise<void>): Promise<number> {
  let count = 0;
  const { double: read } = protobuf.Reader.prototype;
  const { double: write } = protobuf.Writer.prototype;
  protobuf.Reader.prototype.double = function (this: protobuf.Reader) {
    count++;
    return read.call(this);
  };
  protobuf.Writer.prototype.double = function (this: protobuf.Writer, value: number) {
    count++;
    return write.call(this, value);
  };
  try {
    await during();
  } finally {
    protobuf.Reader.prototype.double = read;
    protobuf.Writer.prototype.double = write;
  }
  return count;
}

const encodeRequest = (request: Record<string, unknown>): Uint8Array => {
  const limit = protobuf.util.recursionLimit;
  protobuf.util.recursionLimit = 10_000; // this client's encoder would otherwise stop where the server's decoder does
  try {
    return RunPolicyRequest.encode(RunPolicyRequest.fromObject(request)).finish();
  } finally {
    protobuf.util.recursionLimit = limit;
  }
};

describe("large gRPC requests are decoded in the worker pool, not on the event loop", () => {
  it("RunPolicy: the pool decodes the message and the run evaluates there; the answer is the engine's, data echoed as sent", async () => {
    const policy = await author.policy(RULE, true);
    const request = encodeRequest({ baseId: policy.baseId, data: toStruct(DATA) });
    expect(request.length).toBeGreaterThan(LARGE_MESSAGE_BYTES);
    const decodedBefore = gateway.services.evaluator.bodiesParsed;
    const mainParsesBefore = LargeData.mainThreadParses;
    let answer: Awaited<ReturnType<typeof sendRaw>> = { error: null };
    const doubles = await doublesOnThisThread(async () => {
      answer = await sendRaw("RunPolicy", request);
    });
    expect(answer.error).toBeNull();
    // The trace and labels are encoded here: a handful of numbers at most, not the data's thousands.
    expect(doubles).toBeLessThan(10);
    expect(gateway.services.evaluator.bodiesParsed).toBe(decodedBefore + 1);
    expect(LargeData.mainThreadParses).toBe(mainParsesBefore);
    const { execution, ...json } = runResponseJson(RunResponse.toObject(RunResponse.decode(answer.bytes!), { defaults: false, oneofs: true }));
    const expected = evaluatePolicy(compilePolicy(RULE), DATA);
    expect(json).toEqual({ ...expected, error: null, trace: expected.trace, data: DATA });
    expect(Object.is((json.data as Record<string, unknown>)["-0"], -0)).toBe(true);
    expect(execution.engine).toMatch(/^\d+$/);
  });

  it("RunFlow: every node runs in the pool on the same data and echoes it", async () => {
    const policy = await author.policy(RULE, true);
    const flowText = `flow:\n  start:\n${["a", "b", "c"].map((id) => `    - id: ${id}\n      type: start\n      policyId: ${policy.baseId}\n`).join("")}`;
    const flow = await author.flow(flowText, true);
    const request = encodeRequest({ baseId: flow.baseId, data: toStruct(DATA) });
    const decodedBefore = gateway.services.evaluator.bodiesParsed;
    let answer: Awaited<ReturnType<typeof sendRaw>> = { error: null };
    const doubles = await doublesOnThisThread(async () => {
      answer = await sendRaw("RunFlow", request);
    });
    expect(answer.error).toBeNull();
    expect(doubles).toBeLessThan(30);
    expect(gateway.services.evaluator.bodiesParsed).toBe(decodedBefore + 1);
    const json = flowResponseJson(FlowResponse.toObject(FlowResponse.decode(answer.bytes!), { defaults: false, oneofs: true }));
    const expected = evaluatePolicy(compilePolicy(RULE), DATA);
    expect(json.nodeResponse.map((node: { nodeId: string }) => node.nodeId)).toEqual(["a", "b", "c"]);
    for (const node of json.nodeResponse) {
      const { execution: _timings, ...response } = node.response;
      expect(response).toEqual({ ...expected, trace: expected.trace, data: DATA });
    }
  });

  it("refuses a large message exactly as a small one, after authenticating it", async () => {
    const policy = await author.policy(RULE, true);
    let deep: Record<string, unknown> = { age: 1 };
    for (let i = 0; i < 150; i++) deep = { inner: deep };
    const cases: [string, (data: Record<string, unknown>) => Uint8Array, string | null][] = [
      ["both IDs", (data) => encodeRequest({ baseId: policy.baseId, policyId: policy.recordId, data: toStruct(data) }), viewKey],
      ["neither ID", (data) => encodeRequest({ data: toStruct(data) }), viewKey],
      ["a number that is not finite", (data) => encodeRequest({ baseId: policy.baseId, data: toStruct({ ...data, n: Number.NaN }) }), viewKey],
      [
        "both IDs and a number that is not finite",
        (data) => encodeRequest({ baseId: policy.baseId, policyId: "x", data: toStruct({ ...data, n: Number.POSITIVE_INFINITY }) }),
        viewKey,
      ],
      ["nested too deeply", (data) => encodeRequest({ baseId: policy.baseId, data: toStruct({ ...data, deep }) }), viewKey],
      ["cut short", (data) => encodeRequest({ baseId: policy.baseId, data: toStruct(data) }).subarray(0, -3), viewKey],
      ["an unknown policy", (data) => encodeRequest({ baseId: "00000000-0000-4000-8000-000000000000", data: toStruct(data) }), viewKey],
      ["no key", (data) => encodeRequest({ baseId: policy.baseId, data: toStruct(data) }), null],
      ["an unknown key", (data) => encodeRequest({ baseId: policy.baseId, data: toStruct(data) }), "vk_not-a-key"],
    ];
    for (const [name, request, key] of cases) {
      const small = request({ Person: { age: 30 } });
      const large = request(pad({ Person: { age: 30 } }));
      expect(small.length).toBeLessThan(LARGE_MESSAGE_BYTES);
      expect(large.length).toBeGreaterThan(LARGE_MESSAGE_BYTES);
      const decodedBefore = gateway.services.evaluator.bodiesParsed;
      const [expected, answer] = [await sendRaw("RunPolicy", small, key), await sendRaw("RunPolicy", large, key)];
      expect({ name, code: answer.error?.code, details: answer.error?.details }).toEqual({
        name,
        code: expected.error?.code,
        details: expected.error?.details,
      });
      expect(answer.error).not.toBeNull();
      // Decoded in the pool only once the key was known.
      expect({ name, decoded: gateway.services.evaluator.bodiesParsed - decodedBefore }).toEqual({ name, decoded: key === viewKey ? 1 : 0 });
    }
    // Over the message limit (BODY_LIMIT_BYTES): grpc-js refuses it before any of this.
    const over = await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data: toStruct({ pad: "a".repeat(1024 * 1024) }) }, { key: viewKey });
    expect(statusName(over)).toBe("RESOURCE_EXHAUSTED");
  });

  it("an answer holding an encoded echo is byte for byte the answer encoded whole", () => {
    const data = { a: [1, "b", null, { c: true }], d: -0, e: 1e300 };
    const run = {
      result: true,
      trace: jsonToStruct({ execution: [{ rule: "x", result: true }] }),
      rule: ["A **x** is ok if y."],
      error: null,
      labels: jsonToStruct({ ok: true }),
      execution: { orchestrator: { go: "1", database: "2", total: "3" }, engine: "4", total: "5" },
    };
    const Struct = RunResponse.fields.data!.resolvedType as protobuf.Type;
    const echo = new EncodedStruct(Struct.encode(jsonToStruct(data)!).finish());
    const whole = RunResponse.encode({ ...run, data: jsonToStruct(data) } as never).finish();
    expect(Buffer.from(encodeAnswer(RunResponse, { ...run, data: echo, [HOLDS_ENCODED]: true } as AnswerMessage))).toEqual(Buffer.from(whole));
    const node = (response: object, id: string) => ({ nodeId: id, nodeType: "start", response, execution: { database: "0", engine: "1", total: "2" } });
    const flowWhole = FlowResponse.encode({
      result: { kind: "boolValue", boolValue: true },
      nodeResponse: [node({ ...run, execution: null, data: jsonToStruct(data) }, "a"), node({ ...run, execution: null, data: jsonToStruct(data) }, "b")],
      execution: { orchestrator: "1", database: "2", engine: "3", total: "4" },
    } as never).finish();
    const marked = { ...run, execution: null, data: echo, [HOLDS_ENCODED]: true };
    const flowSpliced = encodeAnswer(FlowResponse, {
      result: { kind: "boolValue", boolValue: true },
      nodeResponse: [{ ...node(marked, "a"), [HOLDS_ENCODED]: true }, node({ ...run, execution: null, data: jsonToStruct(data) }, "b")],
      execution: { orchestrator: "1", database: "2", engine: "3", total: "4" },
      [HOLDS_ENCODED]: true,
    } as AnswerMessage);
    expect(Buffer.from(flowSpliced)).toEqual(Buffer.from(flowWhole));
    expect(fromStruct(Struct.toObject(Struct.decode(echo.bytes), { defaults: false, oneofs: true }))).toEqual(data);
  });
});

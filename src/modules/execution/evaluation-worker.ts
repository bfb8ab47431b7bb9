/**
 * The task a worker thread of the evaluation pool runs (evaluator.ts): one evaluation with the whole budget, its
 * trace serialised here so the gateway's event loop only copies text.
 */
import { compilePolicy, evaluateMetered, type CompiledPolicy } from "../../engine/index.js";
import { FlowError, parseFlow, type FlowDefinition, type FlowErrorCode } from "../../engine/flow/index.js";
import { DEFAULT_LIMITS, dataSizeEstimate } from "../../engine/limits.js";
import { Kind, parse, visit } from "graphql";
import { exactDataJson, hasInexactNumber, parseKeepingDigits, stringifyKeepingDigits } from "../../shared/exact-numbers.js";
import { deeperThan, inspectedLevels, MAX_JSON_DEPTH } from "../../shared/opaque-json.js";
import { asBuffer, sharedCopy, sharedUtf8, utf8Text } from "./shared-bytes.js";

export interface EvaluationTask {
  text: string;
  /**
   * The data as JSON text rather than as objects: structured cloning a wide object costs the event loop several
   * times what `JSON.stringify` does, and the REST answer echoes the same text (evaluator.ts, `jsonText`). Large
   * data (large-data.ts) comes as UTF-8 bytes in shared memory with an ID: nothing is copied, and a worker parses
   * the same data once for all the evaluations of one request (a flow's nodes).
   */
  dataJson: string | { id: string; json: Uint8Array };
  nowMs: number;
  maxSteps?: number;
  maxAnswerBytes?: number;
  deadline: { ms: number; setting: string };
}

export interface EvaluationOutcome {
  result: boolean;
  error: string | null;
  /**
   * `JSON.stringify(trace)`: parsed again only by callers that need the objects (GraphQL). Over TRACE_BYTES_OVER
   * characters it comes as UTF-8 bytes in shared memory, so that the event loop writes the answer without encoding it.
   */
  traceJson: string | Uint8Array;
  labels: Record<string, boolean> | null;
  steps: number;
  answerBytes: number;
  /** Time the evaluation itself took in the worker (CPU-bound work: no I/O). */
  engineNs: number;
}

// Compiled texts of this worker: policies are immutable, so text is a sufficient key.
const RECENT_LIMIT = 64;
const recent = new Map<string, CompiledPolicy>();

function compiled(text: string): CompiledPolicy {
  let c = recent.get(text);
  if (c === undefined) {
    c = compilePolicy(text);
    if (recent.size >= RECENT_LIMIT) recent.delete(recent.keys().next().value as string);
    recent.set(text, c);
  }
  return c;
}

/** Traces longer than this (characters) go back as UTF-8 bytes; shorter ones cost the event loop little to encode. */
export const TRACE_BYTES_OVER = 64 * 1024;

// Large data parsed by this worker, by ID: the nodes of one flow evaluate the same data one after another.
const PARSED_LIMIT = 4;
const parsedData = new Map<string, unknown>();

function dataOf(task: EvaluationTask): unknown {
  if (typeof task.dataJson === "string") return JSON.parse(task.dataJson);
  const { id, json } = task.dataJson;
  let value = parsedData.get(id);
  if (value === undefined) {
    value = JSON.parse(utf8Text(json));
    if (parsedData.size >= PARSED_LIMIT) parsedData.delete(parsedData.keys().next().value as string);
    parsedData.set(id, value);
  }
  return value;
}

export default function evaluate(task: EvaluationTask): EvaluationOutcome {
  const policy = compiled(task.text);
  const started = process.hrtime.bigint();
  const metered = evaluateMetered(policy, dataOf(task), {
    now: new Date(task.nowMs),
    maxSteps: task.maxSteps,
    maxAnswerBytes: task.maxAnswerBytes,
    deadline: task.deadline,
  });
  if (metered.sliced) throw new Error("an evaluation without a slice gave up");
  const { response } = metered;
  const traceJson = JSON.stringify(response.trace);
  return {
    result: response.result,
    error: response.error,
    traceJson: traceJson.length > TRACE_BYTES_OVER ? sharedUtf8(traceJson) : traceJson,
    labels: response.labels,
    steps: metered.steps,
    answerBytes: metered.answerBytes,
    engineNs: Number(process.hrtime.bigint() - started),
  };
}

/** A flow text parsed in the pool: the definition, or the FlowError as plain data (classes do not cross threads). */
export type ParsedFlow = { definition: FlowDefinition } | { error: { code: FlowErrorCode; message: string; details: Record<string, string> } };

export function parseFlowTask(text: string): ParsedFlow {
  try {
    return { definition: parseFlow(text) };
  } catch (error) {
    if (error instanceof FlowError) return { error: { code: error.code, message: error.message, details: error.details } };
    throw error;
  }
}

/**
 * A request body too large to parse on the event loop (large-data.ts), parsed here. The event loop validates
 * `skeleton` with the route's schema: the body with every member but the texts (`rule`, `flow`) replaced by an
 * empty value of the same JSON type, which the schemas judge alike (they ask only whether a member is there and of
 * which type). A `data` object comes back as its echo's UTF-8 bytes and the engine's size estimate.
 */
export type ParsedBody = { malformed: true } | { skeleton: unknown; data?: { json: Uint8Array; estimatedBytes: number } | "nested too deeply" };

const TEXT_MEMBERS = new Set(["rule", "flow"]);

const standIn = (value: unknown): unknown =>
  value === null || typeof value !== "object" ? (typeof value === "string" ? "" : value) : Array.isArray(value) ? [] : {};

export function parseBodyTask(body: Uint8Array): ParsedBody {
  let text = utf8Text(body);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark, as src/rest/body.ts skips it
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { malformed: true };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { skeleton: standIn(value) };
  const members = value as Record<string, unknown>;
  // fromEntries defines members: a "__proto__" member stays a member, as JSON.parse made it.
  const skeleton = Object.fromEntries(
    Object.entries(members).map(([key, member]) => [key, TEXT_MEMBERS.has(key) && typeof member === "string" ? member : standIn(member)]),
  );
  const data = members.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) return { skeleton };
  let echo: string;
  try {
    echo = exactDataJson(text) ?? JSON.stringify(data);
  } catch (error) {
    if (error instanceof RangeError) return { skeleton, data: "nested too deeply" };
    throw error;
  }
  return { skeleton, data: { json: sharedUtf8(echo), estimatedBytes: dataSizeEstimate(data) } };
}

/**
 * A large GraphQL request body (src/server/large-graphql-body.ts), parsed here. The body comes back as parsed, except
 * the variables that only ever feed the `data` argument of a run field (RUN_FIELDS): each is returned as its echo's
 * UTF-8 bytes (numbers as sent) with the engine's size estimate, like a REST body's `data`, and is null in `body`.
 * Other variables come back as values: what reads them (input types, lists) needs objects.
 */
export type ParsedGraphqlBody =
  | { malformed: true }
  | { body: unknown; large: Record<string, { json: Uint8Array; estimatedBytes: number } | { tooDeep: unknown }> };

/** Mutations whose `data` argument is a run's input: the execution service takes it as a LargeData. */
const RUN_FIELDS = new Set(["runPolicy", "runPolicyRecord", "runRule", "runFlow", "runFlowRecord", "testFlow"]);

export function parseGraphqlBodyTask(bytes: Uint8Array): ParsedGraphqlBody {
  let text = utf8Text(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // the byte-order mark body-parser also skips
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { malformed: true };
  }
  const large: Record<string, { json: Uint8Array; estimatedBytes: number } | { tooDeep: unknown }> = {};
  if (!isRecord(body) || !isRecord(body.variables) || typeof body.query !== "string") return { body, large };
  const variables = body.variables;
  let exact: Record<string, unknown> | undefined;
  for (const name of runDataVariables(body.query)) {
    const value = variables[name];
    if (!isRecord(value)) continue;
    // Refused by the JSON scalar, whose message shows the value's first levels.
    if (deeperThan(value, MAX_JSON_DEPTH)) large[name] = { tooDeep: inspectedLevels(value) };
    else {
      // As express.json and exact-variables.ts would: the client's digits where a double would change them.
      if (exact === undefined) exact = hasInexactNumber(text) ? ((parseKeepingDigits(text) as { variables: Record<string, unknown> }).variables ?? {}) : {};
      const echo = name in exact ? stringifyKeepingDigits(exact[name])! : JSON.stringify(value);
      large[name] = { json: sharedUtf8(echo), estimatedBytes: dataSizeEstimate(value) };
    }
    variables[name] = null;
  }
  return { body, large };
}

/**
 * Variables used as the `data` argument of a run field and nowhere else, in any operation of `query`. None when the
 * query does not parse: GraphQL then refuses the request whatever its variables.
 */
function runDataVariables(query: string): Set<string> {
  const asData = new Set<string>();
  const elsewhere = new Set<string>();
  try {
    visit(parse(query, { noLocation: true }), {
      Field(field) {
        for (const argument of field.arguments ?? []) {
          if (argument.value.kind !== Kind.VARIABLE) continue;
          (RUN_FIELDS.has(field.name.value) && argument.name.value === "data" ? asData : elsewhere).add(argument.value.name.value);
        }
      },
      Variable(variable, _key, parent) {
        // Variables inside lists, input objects and directives' arguments.
        if (!(isRecord(parent) && (parent.kind === Kind.ARGUMENT || parent.kind === Kind.VARIABLE_DEFINITION))) elsewhere.add(variable.name.value);
      },
      Directive(directive) {
        for (const argument of directive.arguments ?? []) if (argument.value.kind === Kind.VARIABLE) elsewhere.add(argument.value.name.value);
      },
    });
  } catch {
    return new Set();
  }
  for (const name of elsewhere) asData.delete(name);
  return asData;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * A gRPC request message too large to decode on the event loop (src/grpc/server.ts): its bytes, the full name of its
 * type and the .proto that defines it (the worker loads it once). Its `data` field is a google.protobuf.Struct.
 */
export interface RunRequestTask {
  proto: string;
  type: string;
  bytes: Uint8Array;
}

/**
 * The request decoded: why it does not decode (the message the call's INVALID_ARGUMENT carries), or its other fields
 * (strings) and `data` — unset (null), refused (a number that is not finite: the message), or its JSON text as UTF-8
 * (what evaluations parse, as LargeData), its Struct encoded again for the answer's echo, and the engine's size estimate.
 */
export type DecodedRunRequest =
  | { undecodable: string }
  | {
      fields: Record<string, unknown>;
      data: null | { invalid: string } | { json: Uint8Array; echo: Uint8Array; estimatedBytes: number };
    };

const requestTypes = new Map<string, import("protobufjs").Type>();

export async function decodeRunRequestTask(task: RunRequestTask): Promise<DecodedRunRequest> {
  // Loaded by the first large request: most workers never decode one.
  const [{ default: protobuf }, struct] = await Promise.all([import("protobufjs"), import("../../shared/protobuf-struct.js")]);
  struct.allowStructNesting(DEFAULT_LIMITS.maxDataDepth);
  const key = `${task.proto}#${task.type}`;
  let type = requestTypes.get(key);
  if (type === undefined) {
    const root = protobuf.loadSync(task.proto);
    root.resolveAll();
    type = root.lookupType(task.type);
    requestTypes.set(key, type);
  }
  let message: Record<string, unknown>;
  try {
    // As a Buffer, as grpc-js hands it to the event loop's decoder: protobufjs reads a Buffer with a reader of its own,
    // which is more lenient (a string cut short is read as far as it goes), and the answers must not differ.
    message = type.decode(asBuffer(task.bytes)) as unknown as Record<string, unknown>;
  } catch (error) {
    return { undecodable: struct.undecodableReason(error, type.name) };
  }
  const fields: Record<string, unknown> = {};
  for (const field of type.fieldsArray) if (field.name !== "data") fields[field.name] = message[field.name];
  const data = message.data as import("../../shared/protobuf-struct.js").StructMessage | null | undefined;
  if (!data) return { fields, data: null };
  let value: Record<string, unknown>;
  try {
    value = struct.structToJson(data, "data");
  } catch (error) {
    if (error instanceof Error && error.name === "DomainError") return { fields, data: { invalid: error.message } };
    throw error;
  }
  // The echo as the event loop would encode it from the value (encodeJsonStruct), encoded here.
  const echo = struct.encodeJsonStruct(value);
  return {
    fields,
    data: {
      json: sharedUtf8(JSON.stringify(value)),
      echo: sharedCopy(echo),
      estimatedBytes: dataSizeEstimate(value),
    },
  };
}

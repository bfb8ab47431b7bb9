import type { PolicyResponse } from "../engine/index.js";
import type { FlowExecution, NodeExecution } from "../engine/flow/index.js";
import { DomainError, DomainErrorCode } from "../errors/domain-error.js";
import type { RunTarget } from "../modules/execution/execution.service.js";
import { LargeData } from "../modules/execution/large-data.js";
import type { PolicyExecutionTimings } from "../modules/execution/run-result.js";
import type { FlowRun } from "../modules/execution/run-result.js";
import { encodeJsonStruct, jsonToValue, structToJson, type JsonObject, type StructMessage, type ValueMessage } from "../shared/protobuf-struct.js";
import { EncodedStruct, HOLDS_ENCODED } from "./encoded-answer.js";

/**
 * A request's `data` as the pool decoded it (server.ts, large requests): the data, or why it is refused (a number that
 * is not finite), to be raised in the order the checks of a decoded request raise it.
 */
export type DecodedData = LargeData | DomainError;

/** The Struct encodings of large requests' data, made by the worker that decoded them: answers echo them as they are. */
export const encodedEchoes = new WeakMap<LargeData, Uint8Array>();

/** The messages of proto/policy/v1/execution.proto as protobufjs decodes them (unset: "" and null) and encodes them. */
export interface RunPolicyRequest {
  policyId?: string;
  baseId?: string;
  data?: StructMessage | DecodedData | null;
}

export interface RunFlowRequest {
  flowId?: string;
  baseId?: string;
  data?: StructMessage | DecodedData | null;
}

export interface RunResponse {
  result: boolean;
  trace: EncodedStruct | null;
  rule: readonly string[];
  data: EncodedStruct | null;
  error: StructMessage | null;
  labels: EncodedStruct | null;
  execution: PolicyExecutionTimings | null;
  [HOLDS_ENCODED]?: true;
}

export interface FlowResponse {
  result: ValueMessage;
  nodeResponse: { nodeId: string; nodeType: string; response: RunResponse; execution: NodeExecution; [HOLDS_ENCODED]?: true }[];
  execution: FlowExecution;
  [HOLDS_ENCODED]?: true;
}

const invalid = (message: string, field: string) => new DomainError(DomainErrorCode.InvalidInput, message, { field });

/** Exactly one of `base_id` and the record ID (`policy_id` / `flow_id`) names what runs (proto/policy/v1/execution.proto). */
export function runTargetOf(baseId: string | undefined, recordId: string | undefined, recordField: "policy_id" | "flow_id"): RunTarget {
  const base = baseId ?? "";
  const record = recordId ?? "";
  if ((base === "") === (record === "")) {
    throw invalid(`Exactly one of 'base_id' and '${recordField}' must be set`, base === "" ? "base_id" : recordField);
  }
  return base !== "" ? { by: "base", id: base } : { by: "record", id: record };
}

/** The request's input; unset is refused as REST refuses a body without `data` (an empty Struct is `{}`). */
export function runDataOf(data: StructMessage | DecodedData | null | undefined): JsonObject | LargeData {
  if (!data) throw invalid("'data' is required", "data");
  if (data instanceof LargeData) return data;
  if (data instanceof DomainError) throw data;
  return structToJson(data, "data");
}

/**
 * A policy answer (docs/language.md#the-response) as RunResponse. `error` is a string on the REST wire and a Struct here:
 * `{"message": <the REST error text>}`, unset when there is none. Evaluation errors are answers with `error`
 * set, status OK — a non-OK status could not carry the trace and rule lines that REST's 400 body carries.
 */
export function runResponseOf(response: PolicyResponse, execution: PolicyExecutionTimings | null): RunResponse {
  const echo = response.data instanceof LargeData ? encodedEchoes.get(response.data) : undefined;
  // The trace, labels and echo are written straight into their encoded Structs (encodeJsonStruct), not built as messages.
  return {
    result: response.result,
    trace: encodedStructOf(response.trace),
    rule: response.rule,
    data: echo ? new EncodedStruct(echo) : encodedStructOf(response.data instanceof LargeData ? response.data.value() : response.data),
    error: response.error === null ? null : { fields: { message: { kind: "stringValue", stringValue: response.error } } },
    labels: encodedStructOf(response.labels),
    execution,
    [HOLDS_ENCODED]: true,
  };
}

/** A JSON object (trace, labels, echoed data) as its encoded Struct; null stays unset. */
const encodedStructOf = (object: unknown): EncodedStruct | null =>
  object === null || object === undefined ? null : new EncodedStruct(encodeJsonStruct(object as JsonObject));

/** Custom nodes run nothing: zero timings, as on the REST wire, so every node has the same shape. */
const ZERO_NODE_EXECUTION: NodeExecution = Object.freeze({ database: "0", engine: "0", total: "0" });

/** A flow answer (docs/language.md#flow-response) as FlowResponse; node responses carry no `execution` of their own. */
export function flowResponseOf(run: FlowRun): FlowResponse {
  const { response } = run;
  let holdsEncoded = false;
  const nodeResponse = response.nodeResponse.map((node) => {
    const answer = runResponseOf(node.response, null);
    const entry: FlowResponse["nodeResponse"][number] = {
      nodeId: node.nodeId,
      nodeType: node.nodeType,
      response: answer,
      execution: node.execution ?? ZERO_NODE_EXECUTION,
    };
    if (answer[HOLDS_ENCODED]) holdsEncoded = entry[HOLDS_ENCODED] = true;
    return entry;
  });
  const answer: FlowResponse = { result: jsonToValue(response.result ?? null), nodeResponse, execution: response.execution };
  if (holdsEncoded) answer[HOLDS_ENCODED] = true;
  return answer;
}

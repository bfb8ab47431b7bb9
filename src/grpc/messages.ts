import type { PolicyResponse } from "../engine/index.js";
import type { FlowExecution, NodeExecution } from "../engine/flow/index.js";
import { DomainError, DomainErrorCode } from "../errors/domain-error.js";
import type { RunTarget } from "../modules/execution/execution.service.js";
import type { PolicyExecutionTimings } from "../modules/execution/run-result.js";
import type { FlowRun } from "../modules/execution/run-result.js";
import { jsonToStruct, jsonToValue, structToJson, type JsonObject, type StructMessage, type ValueMessage } from "./struct.js";

/** The messages of proto/policy/v1/execution.proto as protobufjs decodes them (unset: "" and null) and encodes them. */
export interface RunPolicyRequest {
  policyId?: string;
  baseId?: string;
  data?: StructMessage | null;
}

export interface RunFlowRequest {
  flowId?: string;
  baseId?: string;
  data?: StructMessage | null;
}

export interface RunResponse {
  result: boolean;
  trace: StructMessage | null;
  rule: readonly string[];
  data: StructMessage | null;
  error: StructMessage | null;
  labels: StructMessage | null;
  execution: PolicyExecutionTimings | null;
}

export interface FlowResponse {
  result: ValueMessage;
  nodeResponse: { nodeId: string; nodeType: string; response: RunResponse; execution: NodeExecution }[];
  execution: FlowExecution;
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
export function runDataOf(data: StructMessage | null | undefined): JsonObject {
  if (!data) throw invalid("'data' is required", "data");
  return structToJson(data, "data");
}

/**
 * A policy answer (docs/language.md#the-response) as RunResponse. `error` is a string on the REST wire and a Struct here:
 * `{"message": <the REST error text>}`, unset when there is none. Evaluation errors are answers with `error`
 * set, status OK — a non-OK status could not carry the trace and rule lines that REST's 400 body carries.
 */
export function runResponseOf(response: PolicyResponse, execution: PolicyExecutionTimings | null): RunResponse {
  return {
    result: response.result,
    trace: jsonToStruct(response.trace),
    rule: response.rule,
    data: jsonToStruct(response.data),
    error: response.error === null ? null : { fields: { message: { kind: "stringValue", stringValue: response.error } } },
    labels: jsonToStruct(response.labels),
    execution,
  };
}

/** Custom nodes run nothing: zero timings, as on the REST wire, so every node has the same shape. */
const ZERO_NODE_EXECUTION: NodeExecution = Object.freeze({ database: "0", engine: "0", total: "0" });

/** A flow answer (docs/language.md#flow-response) as FlowResponse; node responses carry no `execution` of their own. */
export function flowResponseOf(run: FlowRun): FlowResponse {
  const { response } = run;
  return {
    result: jsonToValue(response.result ?? null),
    nodeResponse: response.nodeResponse.map((node) => ({
      nodeId: node.nodeId,
      nodeType: node.nodeType,
      response: runResponseOf(node.response, null),
      execution: node.execution ?? ZERO_NODE_EXECUTION,
    })),
    execution: response.execution,
  };
}

/** Flow failures (docs/language.md#flow-errors). The HTTP/GraphQL layer maps `code` to a status and echoes message and details. */
export type FlowErrorCode =
  | "VALIDATION_ERROR"
  | "MISSING_POLICY_ID"
  | "INVALID_FLOW"
  | "POLICY_NOT_FOUND"
  | "FLOW_NOT_FOUND"
  /** The flow's policies together needed more than `maxFlowSteps` of evaluation work. */
  | "FLOW_STEPS_EXCEEDED"
  /** The run reached more than `maxFlowNodeRuns` nodes. */
  | "FLOW_NODE_RUNS_EXCEEDED"
  /** The answer would be larger than `maxFlowResponseBytes`. */
  | "FLOW_RESPONSE_TOO_LARGE";

export class FlowError extends Error {
  override readonly name = "FlowError";
  code: FlowErrorCode;
  details: Record<string, string>;

  constructor(code: FlowErrorCode, message: string, details: Record<string, string>) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** The exact error (docs/language.md#flow-errors) for a flow text that does not load as YAML. */
export function invalidYamlError(): FlowError {
  return new FlowError("VALIDATION_ERROR", "validation error on field 'flow': invalid YAML flow format", {
    field: "flow",
  });
}

/** The exact error (docs/language.md#flow-errors) for a request body that is not JSON (raised by the transport layer). */
export function invalidJsonBodyError(): FlowError {
  return new FlowError("VALIDATION_ERROR", "validation error on field 'body': invalid JSON format", { field: "body" });
}

/** A stored flow id that matches nothing (raised by the storage layer; the engine never looks flows up). */
export function flowNotFoundError(flowId: string): FlowError {
  return new FlowError("FLOW_NOT_FOUND", `flow not found: ${flowId}`, { flowId });
}

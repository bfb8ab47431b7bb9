/** Flows (docs/language.md#flows): load, validate and run chains of stored policies. */
export { FlowError, flowNotFoundError, invalidJsonBodyError, invalidYamlError } from "./errors.js";
export type { FlowErrorCode } from "./errors.js";
export { parseFlow, YAML_LIMITS } from "./parse.js";
export { FLOW_RUN_LIMITS, flowPolicyIds, runFlow, type FlowRunLimits } from "./run.js";
export { FLOW_LIMITS, validateFlowDefinition } from "./validate.js";
export type {
  CustomFlowNode,
  FlowDefinition,
  FlowExecution,
  FlowMetadata,
  FlowNode,
  FlowResponse,
  JsonValue,
  NodeBudget,
  NodeExecution,
  NodeResponse,
  PolicyFlowNode,
  PolicyRunner,
  ReturnFlowNode,
} from "./types.js";

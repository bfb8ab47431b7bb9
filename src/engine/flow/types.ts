import type { PolicyResponse } from "../api.js";

/** A JSON value as produced by a `return` node. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A `start` or `policy` node: runs a stored policy and branches on its boolean. */
export interface PolicyFlowNode {
  id: string;
  type: "start" | "policy";
  policyId: string;
  /** Editor information, never used by execution. */
  policyName?: string;
  /** `false` forces the `onFalse` branch; `true` and `null` (absent) branch on the policy result. */
  returnValue: boolean | null;
  onTrue: FlowNode[];
  onFalse: FlowNode[];
}

/** A `return` node: produces `returnValue` and emits no response. */
export interface ReturnFlowNode {
  id: string;
  type: "return";
  returnValue: JsonValue;
}

/** A `custom` node: produces `outcome`, emits a synthetic response and runs both child lists. */
export interface CustomFlowNode {
  id: string;
  type: "custom";
  outcome: string;
  onTrue: FlowNode[];
  onFalse: FlowNode[];
}

export type FlowNode = PolicyFlowNode | ReturnFlowNode | CustomFlowNode;

/** Informational only (docs/language.md#flow-definition); kept when well-typed, dropped otherwise. */
export interface FlowMetadata {
  totalNodes?: number;
  totalEdges?: number;
  timestamp?: string;
}

export interface FlowDefinition {
  flow: { start: FlowNode[] };
  metadata?: FlowMetadata;
}

/** Timings of one policy node, decimal strings of whole nanoseconds. */
export interface NodeExecution {
  database: string;
  engine: string;
  total: string;
}

export interface NodeResponse {
  nodeId: string;
  nodeType: "start" | "policy" | "custom";
  /** The policy's run response without its own `execution` (docs/language.md#flow-response). */
  response: PolicyResponse;
  /** Present on start/policy nodes; custom nodes run nothing and carry none. */
  execution?: NodeExecution;
}

export interface FlowExecution {
  orchestrator: string;
  database: string;
  engine: string;
  total: string;
}

export interface FlowResponse {
  /** Boolean, custom outcome string, `null`, or whatever a `return` node produced. */
  result: unknown;
  nodeResponse: NodeResponse[];
  execution: FlowExecution;
}

/** What one node may still spend: the flow's remaining work and answer allowance (README, "Bounded flows"). */
export interface NodeBudget {
  maxSteps: number;
  maxAnswerBytes: number;
}

/**
 * Runs one stored policy for a flow node within `budget`. Resolving `policyId` (base id ⇒ latest published
 * version, else the draft; or an exact version id) is the caller's business. `null` means no stored policy matches.
 * `steps` and `answerBytes` are what the evaluation used (engine `evaluateMetered`); a runner that does not know
 * them leaves them out (no work counted; the answer counted as the echoed data).
 */
export type PolicyRunner = (
  policyId: string,
  data: unknown,
  budget: NodeBudget,
) => Promise<{ response: PolicyResponse; databaseNs: bigint; engineNs: bigint; steps?: number; answerBytes?: number } | null>;

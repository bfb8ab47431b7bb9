/** Runs a validated flow exactly as docs/language.md#flow-execution. */
import type { PolicyResponse } from "../api.js";
import { DEFAULT_LIMITS, dataSizeEstimate } from "../limits.js";
import { FlowError } from "./errors.js";
import type { FlowDefinition, FlowNode, FlowResponse, NodeResponse, PolicyFlowNode, PolicyRunner } from "./types.js";

/** Every start/policy node's policy, in pre-order, for publish-time existence checks. */
export function flowPolicyIds(def: FlowDefinition): { nodeId: string; policyId: string }[] {
  const out: { nodeId: string; policyId: string }[] = [];
  const visit = (node: FlowNode): void => {
    if (node.type === "return") return;
    if (node.type !== "custom") out.push({ nodeId: node.id, policyId: node.policyId });
    node.onTrue.forEach(visit);
    node.onFalse.forEach(visit);
  };
  def.flow.start.forEach(visit);
  return out;
}

/**
 * Bounds on one run of a flow as a whole (README of the engine, "Bounded flows"): its policies' evaluation work
 * together, the nodes it reaches, and the size of its answer, which is checked before each node's response joins it.
 */
export const FLOW_RUN_LIMITS = Object.freeze({
  /** Evaluation steps of all policy nodes together: twice one policy's budget (about 100 ms of work). */
  maxFlowSteps: 2 * DEFAULT_LIMITS.maxSteps,
  /** Start, policy and custom nodes reached by one run (branches not taken do not count). */
  maxFlowNodeRuns: 500,
  /** Estimated JSON bytes of the answer: every node response echoes the data, its rule lines and its trace. */
  maxFlowResponseBytes: DEFAULT_LIMITS.maxAnswerBytes,
});

export type FlowRunLimits = typeof FLOW_RUN_LIMITS;

interface RunState {
  data: unknown;
  /** Estimated JSON bytes of `data`, which every node response echoes. */
  dataBytes: number;
  runPolicy: PolicyRunner;
  responses: NodeResponse[];
  databaseNs: bigint;
  engineNs: bigint;
  limits: FlowRunLimits;
  steps: number;
  answerBytes: number;
  nodeRuns: number;
}

/** Bytes of a node entry around its response (ids, type, timings). */
const NODE_ENTRY_BYTES = 160;

function countNodeRun(node: FlowNode, state: RunState): void {
  if (++state.nodeRuns > state.limits.maxFlowNodeRuns) {
    throw new FlowError(
      "FLOW_NODE_RUNS_EXCEEDED",
      `flow reached more than ${state.limits.maxFlowNodeRuns} nodes in one run (maxFlowNodeRuns) at node '${node.id}'`,
      { nodeId: node.id, limit: "maxFlowNodeRuns" },
    );
  }
}

/** Counts a node response into the answer; over the bound the flow stops before the response is kept. */
function addResponseBytes(node: FlowNode, bytes: number, state: RunState): void {
  state.answerBytes += bytes + NODE_ENTRY_BYTES;
  if (state.answerBytes > state.limits.maxFlowResponseBytes) {
    throw new FlowError(
      "FLOW_RESPONSE_TOO_LARGE",
      `flow answer would exceed ${state.limits.maxFlowResponseBytes} bytes (maxFlowResponseBytes) at node '${node.id}'`,
      { nodeId: node.id, limit: "maxFlowResponseBytes" },
    );
  }
}

/**
 * The stored policy's response with exactly the response fields (docs/language.md#the-response) in their order, and never its own `execution`.
 * A trace given as a getter stays one: the runner may hand over a trace it has not built yet (a gateway's worker pool sends
 * its text), and passing it on must not build it.
 */
function policyResponse(res: PolicyResponse): PolicyResponse {
  const copy = { result: res.result, trace: null, rule: res.rule, data: res.data, error: res.error, labels: res.labels } as PolicyResponse;
  const trace = Object.getOwnPropertyDescriptor(res, "trace");
  if (trace?.get) Object.defineProperty(copy, "trace", { get: trace.get, enumerable: true, configurable: true });
  else copy.trace = res.trace;
  return copy;
}

/** The synthetic response of a custom node (docs/language.md#flow-execution), keys in the order clients have always received. */
function customResponse(outcome: string, data: unknown): PolicyResponse {
  return {
    result: true,
    trace: {
      execution: [{ conditions: [], outcome: { value: outcome }, result: true, selector: { value: "custom_response" } }],
    },
    rule: [`Custom response: ${outcome}`],
    data,
    error: null,
    labels: null,
  };
}

/** Runs the children in order; the last non-null result replaces `last`. */
async function runChildren(children: FlowNode[], last: unknown, state: RunState): Promise<unknown> {
  let result = last;
  for (const child of children) {
    const r = await exec(child, state);
    if (r !== null) result = r;
  }
  return result;
}

async function execPolicy(node: PolicyFlowNode, state: RunState): Promise<unknown> {
  // Re-checked here because a FlowDefinition may also be built by hand rather than by validateFlowDefinition.
  if (node.policyId === "") {
    throw new FlowError("MISSING_POLICY_ID", `node '${node.id}' (${node.type}) has no policyId`, { nodeId: node.id });
  }
  countNodeRun(node, state);
  const remainingSteps = state.limits.maxFlowSteps - state.steps;
  const remainingBytes = state.limits.maxFlowResponseBytes - state.answerBytes;
  const ran = await state.runPolicy(node.policyId, state.data, {
    // One step more than remains, so that running out is seen (steps > remaining) rather than reported as the
    // policy's own budget error.
    maxSteps: Math.min(DEFAULT_LIMITS.maxSteps, remainingSteps + 1),
    maxAnswerBytes: Math.min(DEFAULT_LIMITS.maxAnswerBytes, remainingBytes + 1),
  });
  if (ran === null) {
    throw new FlowError("POLICY_NOT_FOUND", `policy not found: ${node.policyId}`, { policyId: node.policyId });
  }
  state.steps += ran.steps ?? 0;
  if (state.steps > state.limits.maxFlowSteps) {
    throw new FlowError(
      "FLOW_STEPS_EXCEEDED",
      `flow exceeded its evaluation budget of ${state.limits.maxFlowSteps} steps (maxFlowSteps) at node '${node.id}'`,
      { nodeId: node.id, limit: "maxFlowSteps" },
    );
  }
  addResponseBytes(node, ran.answerBytes ?? state.dataBytes, state);
  state.databaseNs += ran.databaseNs;
  state.engineNs += ran.engineNs;
  state.responses.push({
    nodeId: node.id,
    nodeType: node.type,
    response: policyResponse(ran.response),
    execution: {
      database: ran.databaseNs.toString(),
      engine: ran.engineNs.toString(),
      total: (ran.databaseNs + ran.engineNs).toString(),
    },
  });
  // A policy error leaves result false, so the flow goes on along onFalse (docs/language.md#flow-execution).
  const branch = node.returnValue === false ? false : ran.response.result === true;
  return runChildren(branch ? node.onTrue : node.onFalse, branch, state);
}

async function exec(node: FlowNode, state: RunState): Promise<unknown> {
  switch (node.type) {
    case "start":
    case "policy":
      return execPolicy(node, state);
    case "return":
      return node.returnValue ?? null;
    case "custom":
      countNodeRun(node, state);
      addResponseBytes(node, state.dataBytes + 2 * node.outcome.length + 160, state);
      state.responses.push({ nodeId: node.id, nodeType: "custom", response: customResponse(node.outcome, state.data) });
      return runChildren([...node.onTrue, ...node.onFalse], node.outcome, state);
    default: {
      const type: unknown = (node as { type: unknown }).type;
      throw new FlowError("INVALID_FLOW", `unknown node type: ${String(type)}`, { nodeId: (node as { id: string }).id });
    }
  }
}

/**
 * `dataBytes`: the size estimate of `data` (dataSizeEstimate) when the caller already has it, for data it holds in
 * another form than parsed objects (the gateway's large bodies, parsed in a worker).
 */
export async function runFlow(
  def: FlowDefinition,
  data: unknown,
  runPolicy: PolicyRunner,
  limits: FlowRunLimits = FLOW_RUN_LIMITS,
  dataBytes?: number,
): Promise<FlowResponse> {
  const started = process.hrtime.bigint();
  const state: RunState = {
    data,
    dataBytes: dataBytes ?? dataSizeEstimate(data),
    runPolicy,
    responses: [],
    databaseNs: 0n,
    engineNs: 0n,
    limits,
    steps: 0,
    answerBytes: 0,
    nodeRuns: 0,
  };
  let result: unknown = null;
  for (const node of def.flow.start) {
    // The last start node decides, even when it yields null.
    result = await exec(node, state);
  }
  const elapsed = process.hrtime.bigint() - started;
  const spent = state.databaseNs + state.engineNs;
  // Orchestration is what the flow took beyond its policies; runner-reported times cannot make it negative.
  const orchestrator = elapsed > spent ? elapsed - spent : 0n;
  return {
    result,
    nodeResponse: state.responses,
    execution: {
      orchestrator: orchestrator.toString(),
      database: state.databaseNs.toString(),
      engine: state.engineNs.toString(),
      total: (orchestrator + spent).toString(),
    },
  };
}

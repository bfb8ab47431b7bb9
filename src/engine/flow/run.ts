/** Runs a validated flow exactly as docs/language.md#flow-execution. */
import type { PolicyResponse } from "../api.js";
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

interface RunState {
  data: unknown;
  runPolicy: PolicyRunner;
  responses: NodeResponse[];
  databaseNs: bigint;
  engineNs: bigint;
}

/** The stored policy's response with exactly the response fields (docs/language.md#the-response) in their order, and never its own `execution`. */
function policyResponse(res: PolicyResponse): PolicyResponse {
  return { result: res.result, trace: res.trace, rule: res.rule, data: res.data, error: res.error, labels: res.labels };
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
  const ran = await state.runPolicy(node.policyId, state.data);
  if (ran === null) {
    throw new FlowError("POLICY_NOT_FOUND", `policy not found: ${node.policyId}`, { policyId: node.policyId });
  }
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
      state.responses.push({ nodeId: node.id, nodeType: "custom", response: customResponse(node.outcome, state.data) });
      return runChildren([...node.onTrue, ...node.onFalse], node.outcome, state);
    default: {
      const type: unknown = (node as { type: unknown }).type;
      throw new FlowError("INVALID_FLOW", `unknown node type: ${String(type)}`, { nodeId: (node as { id: string }).id });
    }
  }
}

export async function runFlow(def: FlowDefinition, data: unknown, runPolicy: PolicyRunner): Promise<FlowResponse> {
  const started = process.hrtime.bigint();
  const state: RunState = { data, runPolicy, responses: [], databaseNs: 0n, engineNs: 0n };
  let result: unknown = null;
  for (const node of def.flow.start) {
    // The last start node decides, even when it yields null.
    result = await exec(node, state);
  }
  const elapsed = process.hrtime.bigint() - started;
  const measured = state.databaseNs + state.engineNs;
  // Orchestration is what the flow took beyond its policies; runner-reported times cannot make it negative.
  const orchestrator = elapsed > measured ? elapsed - measured : 0n;
  return {
    result,
    nodeResponse: state.responses,
    execution: {
      orchestrator: orchestrator.toString(),
      database: state.databaseNs.toString(),
      engine: state.engineNs.toString(),
      total: (orchestrator + measured).toString(),
    },
  };
}

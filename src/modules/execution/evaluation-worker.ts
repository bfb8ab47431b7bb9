/**
 * The task a worker thread of the evaluation pool runs (evaluator.ts): one evaluation with the whole budget, its
 * trace serialised here so the gateway's event loop only copies text.
 */
import { compilePolicy, evaluateMetered, type CompiledPolicy } from "../../engine/index.js";
import { FlowError, parseFlow, type FlowDefinition, type FlowErrorCode } from "../../engine/flow/index.js";

export interface EvaluationTask {
  text: string;
  /**
   * The data as JSON text rather than as objects: structured cloning a wide object costs the event loop several
   * times what `JSON.stringify` does, and the REST answer echoes the same text (evaluator.ts, `jsonText`).
   */
  dataJson: string;
  nowMs: number;
  maxSteps?: number;
  maxAnswerBytes?: number;
  deadline: { ms: number; setting: string };
}

export interface EvaluationOutcome {
  result: boolean;
  error: string | null;
  /** `JSON.stringify(trace)`: parsed again only by callers that need the objects (GraphQL). */
  traceJson: string;
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

export default function evaluate(task: EvaluationTask): EvaluationOutcome {
  const policy = compiled(task.text);
  const started = process.hrtime.bigint();
  const metered = evaluateMetered(policy, JSON.parse(task.dataJson), {
    now: new Date(task.nowMs),
    maxSteps: task.maxSteps,
    maxAnswerBytes: task.maxAnswerBytes,
    deadline: task.deadline,
  });
  if (metered.sliced) throw new Error("an evaluation without a slice gave up");
  const { response } = metered;
  return {
    result: response.result,
    error: response.error,
    traceJson: JSON.stringify(response.trace),
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

/**
 * The task a worker thread of the evaluation pool runs (evaluator.ts): one evaluation with the whole budget, its
 * trace serialised here so the gateway's event loop only copies text.
 */
import { compilePolicy, evaluateMetered, type CompiledPolicy } from "../../engine/index.js";

export interface EvaluationTask {
  text: string;
  data: unknown;
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
  const metered = evaluateMetered(policy, task.data, {
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

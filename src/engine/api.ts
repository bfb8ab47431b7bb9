/**
 * The engine's public contract. Everything outside `src/engine` imports from `src/engine/index.ts`,
 * which re-exports these types and the functions that produce them. Nothing in `src/engine` may import
 * from elsewhere in the codebase: the engine is a pure library (text + JSON in, JSON-shaped result out).
 */

/** One evaluation's answer, exactly the wire shape of docs/language.md#the-response minus `execution` timings. */
export interface PolicyResponse {
  result: boolean;
  trace: RuleSetTrace | null;
  rule: string[];
  data: unknown;
  error: string | null;
  labels: Record<string, boolean> | null;
}

export interface RuleSetTrace {
  execution: RuleTrace[];
}

export interface SourcePosition {
  line: number;
  start: number;
  end: number;
}

export interface Named {
  value: string;
  pos?: SourcePosition;
}

export interface RuleTrace {
  label?: string;
  selector: Named;
  outcome: Named;
  conditions: ConditionTrace[];
  result: boolean;
}

/** Untagged on the wire (docs/language.md#trace-entries); kept loose here so the evaluator can build them cheaply. */
export type ConditionTrace = Record<string, unknown>;

export type ErrorKind = "parse" | "evaluation" | "type";

/** Options for one evaluation. `now` is read once per evaluation ("today", docs/language.md#overview). */
export interface EvaluateOptions {
  now?: Date;
  /** Override the default evaluation work budget (steps; engine README, "Bounded work"). */
  maxSteps?: number;
  /** Override the bound on the answer's size (estimated JSON bytes of trace, labels, rule lines and echoed data). */
  maxAnswerBytes?: number;
  /**
   * A wall-clock bound on the evaluation, checked cooperatively behind the step budget; `setting` names what
   * configures it in the error (`evaluation exceeded its deadline of 100 ms (EVALUATION_DEADLINE_MS)`).
   */
  deadline?: { ms: number; setting: string };
}

/** Limits that keep hostile input from hanging or exhausting the process. */
export interface EngineLimits {
  maxRuleTextLength: number;
  maxRules: number;
  maxConditions: number;
  maxDataBytes: number;
  maxDataDepth: number;
  maxSteps: number;
  /** Estimated JSON bytes of one answer (trace, labels, rule lines, echoed data); checked while it is built. */
  maxAnswerBytes: number;
}

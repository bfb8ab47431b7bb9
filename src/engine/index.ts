/**
 * Public API of the policy engine (the language: docs/language.md). Pure library: text + JSON in, JSON-shaped result out.
 */
import type { EngineLimits, EvaluateOptions, PolicyResponse } from "./api.js";
import { compileProgram, type Program } from "./compile.js";
import { EngineError } from "./errors.js";
import { evaluateProgram, type Metered, type MeterOptions } from "./evaluate.js";
import { explainProgram, listOperators as operatorTable, type OperatorInfo, type PolicyExplanation } from "./introspect.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { parseErrorTrace, splitRuleLines as splitLines } from "./trace.js";

export type {
  PolicyResponse,
  RuleSetTrace,
  SourcePosition,
  Named,
  RuleTrace,
  ConditionTrace,
  ErrorKind,
  EvaluateOptions,
  EngineLimits,
} from "./api.js";
export type { PolicyExplanation, ExplainedRule, ExplainedCondition, ExplainedValue, OperatorInfo } from "./introspect.js";
export type { Metered, MeterOptions } from "./evaluate.js";
export { DEFAULT_LIMITS };

/** A policy parsed once and reusable for any number of evaluations. Immutable. */
export interface CompiledPolicy {
  readonly text: string;
  /** The text split into lines (the `rule` field, docs/language.md#the-response). */
  readonly lines: string[];
  /** `Parse error: …` when the text cannot be used, else null. */
  readonly error: string | null;
  readonly errorLine: number | null;
  readonly errorColumn: number | null;
  /** Number of rules (0 when the policy did not compile). */
  readonly ruleCount: number;
}

interface CompiledPolicyInternal extends CompiledPolicy {
  readonly program: Program | null;
  readonly limits: EngineLimits;
  /** JSON bytes of `lines`, which every answer echoes. */
  readonly lineBytes: number;
}

const programs = new WeakMap<CompiledPolicy, CompiledPolicyInternal>();

export function compilePolicy(text: string, limits: EngineLimits = DEFAULT_LIMITS): CompiledPolicy {
  const lines = Object.freeze(splitLines(text)) as string[];
  let program: Program | null = null;
  let error: string | null = null;
  let errorLine: number | null = null;
  let errorColumn: number | null = null;
  try {
    program = compileProgram(text, limits);
  } catch (e) {
    if (e instanceof EngineError) {
      error = e.message;
      errorLine = e.line;
      errorColumn = e.column;
    } else if (e instanceof RangeError) {
      error = "Parse error: policy is nested too deeply to compile";
    } else {
      throw e;
    }
  }
  const compiled: CompiledPolicyInternal = Object.freeze({
    text,
    lines,
    error,
    errorLine,
    errorColumn,
    ruleCount: program ? program.rules.length : 0,
    program,
    limits,
    lineBytes: lines.reduce((n, line) => n + line.length + 3, 2),
  });
  programs.set(compiled, compiled);
  return compiled;
}

/**
 * Evaluates a compiled policy against one data value. Never throws (except on an engine bug): parse, evaluation and
 * type errors are reported in `error`. The response is read-only: `rule` and the static parts of the trace
 * (selectors, operator operands as written) are frozen objects shared between evaluations; `data` is the caller's
 * value, echoed.
 */
export function evaluatePolicy(compiled: CompiledPolicy, data: unknown, options?: EvaluateOptions): PolicyResponse {
  const metered = evaluateMetered(compiled, data, options);
  // Without a slice an evaluation always answers.
  if (metered.sliced) throw new Error("evaluation sliced without a slice");
  return metered.response;
}

/**
 * `evaluatePolicy` that also reports what the evaluation cost (steps, estimated answer bytes) and can give up
 * after a slice of its budget (`sliceSteps`), so a caller can run a cheap evaluation in line and move an expensive
 * one elsewhere. Evaluation is pure: running it again with the same `now` gives the same answer.
 */
export function evaluateMetered(compiled: CompiledPolicy, data: unknown, options?: MeterOptions): Metered {
  const internal = programs.get(compiled) ?? programs.get(compilePolicy(compiled.text));
  if (!internal) throw new Error("compilePolicy did not register its result");
  if (internal.program === null) {
    const error = internal.error ?? "Parse error: policy did not compile";
    const response = { result: false, trace: parseErrorTrace(error, internal.lines), rule: internal.lines, data, error, labels: null };
    return { sliced: false, response, steps: 0, answerBytes: internal.lineBytes };
  }
  return evaluateProgram(internal.program, data, internal.lines, options, internal.limits, internal.lineBytes);
}

// Recently compiled texts, so repeated ad-hoc runs (`/run`) skip parsing. Compiled policies are immutable, so
// sharing them is safe; only modest texts are kept to bound memory.
const RECENT_LIMIT = 256;
const RECENT_MAX_TEXT = 16_384;
const recent = new Map<string, CompiledPolicy>();

function compileCached(text: string): CompiledPolicy {
  if (text.length > RECENT_MAX_TEXT) return compilePolicy(text);
  const hit = recent.get(text);
  if (hit) {
    recent.delete(text);
    recent.set(text, hit);
    return hit;
  }
  const c = compilePolicy(text);
  if (recent.size >= RECENT_LIMIT) {
    const oldest = recent.keys().next();
    if (!oldest.done) recent.delete(oldest.value);
  }
  recent.set(text, c);
  return c;
}

export function runPolicy(text: string, data: unknown, options?: EvaluateOptions): PolicyResponse {
  return evaluatePolicy(compileCached(text), data, options);
}

export function splitRuleLines(text: string): string[] {
  return splitLines(text);
}

export function validatePolicy(text: string): { ok: true } | { ok: false; message: string; line: number | null; column: number | null } {
  const c = compileCached(text);
  if (c.error === null) return { ok: true };
  return { ok: false, message: c.error, line: c.errorLine, column: c.errorColumn };
}

export function explainPolicy(text: string): PolicyExplanation | { error: string } {
  const c = programs.get(compileCached(text));
  if (!c || c.program === null) return { error: c?.error ?? "Parse error" };
  return explainProgram(c.program);
}

export function listOperators(): OperatorInfo[] {
  return operatorTable();
}

/**
 * Evaluation of a compiled program against one data value (docs/language.md#overview steps 3–5, #cycles, #trace-order, #errors, #labels).
 *
 * Rules are evaluated on demand and their result and trace entry cached for the request, so each rule runs once;
 * the trace order is static (compile.ts), which leaves only entry lookups for step 5 of docs/language.md#overview.
 */
import type { ConditionTrace, EngineLimits, EvaluateOptions, PolicyResponse, RuleTrace } from "./api.js";
import type { CompiledRule, Program } from "./compile.js";
import { evalList } from "./conditions.js";
import { EngineError, evaluationError } from "./errors.js";
import { COST } from "./costs.js";
import { checkData } from "./limits.js";
import { Ctx, SliceExhausted, type Budget, type RuleRuntime } from "./runtime.js";
import { todayDay } from "./values.js";

function ruleEntry(rule: CompiledRule, conditions: ConditionTrace[], result: boolean): RuleTrace {
  if (rule.label !== null) {
    return { label: rule.label, selector: rule.selectorNamed, outcome: rule.outcomeNamed, conditions, result };
  }
  return { selector: rule.selectorNamed, outcome: rule.outcomeNamed, conditions, result };
}

function cycleError(ctx: Ctx, program: Program, index: number): EngineError {
  const key = (i: number): string => (program.rules[i] as CompiledRule).outcome;
  const path = ctx.stack.map(key);
  path.push(key(index), key(ctx.stack[0] ?? index));
  return evaluationError("Infinite loop detected in rule evaluation: " + path.join(" -> "));
}

class Runtime implements RuleRuntime {
  constructor(private readonly program: Program) {}

  evalRule(ctx: Ctx, index: number): boolean {
    const cached = ctx.ruleResults[index] as number;
    if (cached >= 0) return cached === 1;
    if (ctx.onStack[index] === 1) throw cycleError(ctx, this.program, index);
    const rule = this.program.rules[index] as CompiledRule;
    ctx.entry(COST.step, rule.entryBytes);
    ctx.onStack[index] = 1;
    ctx.stack.push(index);
    const conditions: ConditionTrace[] = [];
    let result: boolean;
    try {
      result = evalList(rule.items, ctx, conditions, null);
    } catch (e) {
      // docs/language.md#partial-trace: keep the conditions evaluated so far plus one entry for the failing top-level condition. Outer rules
      // overwrite `partial`, so the one left is the top-level rule's.
      const failing = rule.items[conditions.length];
      if (failing) conditions.push(failing.failEntry());
      ctx.partial = ruleEntry(rule, conditions, false);
      throw e;
    }
    ctx.stack.pop();
    ctx.onStack[index] = 0;
    ctx.ruleResults[index] = result ? 1 : 0;
    ctx.ruleEntries[index] = ruleEntry(rule, conditions, result);
    return result;
  }
}

const runtimes = new WeakMap<Program, Runtime>();

function runtimeOf(program: Program): Runtime {
  let r = runtimes.get(program);
  if (!r) {
    r = new Runtime(program);
    runtimes.set(program, r);
  }
  return r;
}

function labelsOf(entries: readonly RuleTrace[]): Record<string, boolean> | null {
  let labels: Record<string, boolean> | null = null;
  for (const e of entries) {
    if (e.label !== undefined) {
      labels ??= {};
      labels[e.label] = e.result;
    }
  }
  return labels;
}

/** One evaluation's answer and what it cost; `sliced` when it gave up at `Budget.sliceSteps` without an answer. */
export type Metered = { sliced: false; response: PolicyResponse; steps: number; answerBytes: number } | { sliced: true; steps: number };

export interface MeterOptions extends EvaluateOptions {
  /** Give up without an answer after this many steps (see `Budget.sliceSteps`). */
  sliceSteps?: number;
  /** Give up without an answer when it would be larger than this (see `Budget.sliceAnswerBytes`). */
  sliceAnswerBytes?: number;
}

export function evaluateProgram(
  program: Program,
  data: unknown,
  lines: string[],
  options: MeterOptions | undefined,
  limits: EngineLimits,
  lineBytes: number,
): Metered {
  // An invalid injected clock falls back to the real one rather than making every date operator false.
  const injected = options?.now;
  const now = injected !== undefined && Number.isFinite(injected.getTime()) ? injected : new Date();
  const budget: Budget = {
    maxSteps: options?.maxSteps ?? limits.maxSteps,
    maxAnswerBytes: options?.maxAnswerBytes ?? limits.maxAnswerBytes,
    deadlineMs: options?.deadline?.ms ?? Infinity,
    deadlineSetting: options?.deadline?.setting ?? "deadline",
    sliceSteps: options?.sliceSteps ?? Infinity,
    sliceAnswerBytes: options?.sliceAnswerBytes ?? Infinity,
  };
  const runtime = runtimeOf(program);
  const ctx = new Ctx(data, todayDay(now), budget, program.rules.length, program.computedExprs.length, runtime);
  try {
    const dataBytes = checkData(data, limits);
    if (typeof dataBytes === "string") throw evaluationError(dataBytes);
    // The answer echoes the data and the rule lines; both count against maxAnswerBytes.
    ctx.addAnswer(dataBytes + lineBytes);
    const result = runtime.evalRule(ctx, program.golden);
    const execution: RuleTrace[] = [];
    for (const i of program.traceOrder) {
      let entry = ctx.ruleEntries[i];
      if (entry === undefined) {
        // Only reachable if a referenced rule was skipped; evaluate it on its own as docs/language.md#trace-order describes.
        ctx.stack.length = 0;
        runtime.evalRule(ctx, i);
        entry = ctx.ruleEntries[i] as RuleTrace;
      }
      execution.push(entry);
    }
    const response = { result, trace: { execution }, rule: lines, data, error: null, labels: labelsOf(execution) };
    return { sliced: false, response, steps: ctx.steps, answerBytes: ctx.answerBytes };
  } catch (e) {
    if (e instanceof SliceExhausted) return { sliced: true, steps: ctx.steps };
    if (!(e instanceof EngineError)) throw e;
    const execution: RuleTrace[] = [];
    const golden = program.rules[program.golden] as CompiledRule;
    // The partial entry is bounded by what was counted before the error (at most one entry over the bound).
    execution.push(ctx.partial ?? ruleEntry(golden, [], false));
    const response = { result: false, trace: { execution }, rule: lines, data, error: e.message, labels: labelsOf(execution) };
    return { sliced: false, response, steps: ctx.steps, answerBytes: ctx.answerBytes };
  }
}

/**
 * Per-evaluation state. One `Ctx` is allocated per `evaluatePolicy` call; compiled closures read the data and
 * write small side channels (`path`, `dl`, `dr`) instead of returning tuples, which keeps the hot path free of
 * per-step allocations.
 *
 * The work budget (README, "Bounded work"): every step that touches data charges `steps` in proportion to what it
 * touches, and every value copied into the answer is counted in `answerBytes`. Both are checked on the hot path by
 * one comparison; the clock (the deadline) and the slice are looked at only every CHECK_INTERVAL steps.
 */
import type { ConditionTrace, RuleTrace } from "./api.js";
import { COST } from "./costs.js";
import { evaluationError } from "./errors.js";
import type { KeyIndex } from "./keys.js";
import { DateValue, DurationValue, dayToText, type TypedValue } from "./values.js";

/** The current element inside `any/all … where (…)`: `its` reads from `value`. */
export interface Elem {
  value: unknown;
  path: string;
}

export type ExprFn = (ctx: Ctx, el: Elem | null) => unknown;

/** A compiled condition: evaluates, pushes exactly one trace entry to `out`, returns the (possibly negated) result. */
export type CondFn = (ctx: Ctx, out: ConditionTrace[], el: Elem | null) => boolean;

export interface RuleRuntime {
  evalRule(ctx: Ctx, index: number): boolean;
}

export const NOT_COMPUTED: unique symbol = Symbol("not computed");

/** Steps between looks at the clock: about 50 µs of work at the calibrated cost (README), so the check is free. */
const CHECK_INTERVAL = 1024;

/** What one evaluation may spend. */
export interface Budget {
  maxSteps: number;
  maxAnswerBytes: number;
  /** Wall-clock milliseconds from the start of the evaluation; Infinity for none. */
  deadlineMs: number;
  /** The setting that configures the deadline, named in its error. */
  deadlineSetting: string;
  /**
   * Steps after which the evaluation gives up without an answer (`SliceExhausted`), so the caller can run it again
   * elsewhere with the whole budget; Infinity for none.
   */
  sliceSteps: number;
  /** Like `sliceSteps`, for answer bytes: a large answer is also better built (and serialised) elsewhere. */
  sliceAnswerBytes: number;
}

/** Thrown when an evaluation used up its slice (Budget.sliceSteps). Not an engine error: there is no answer. */
export class SliceExhausted extends Error {
  override readonly name = "SliceExhausted";
}

export class Ctx {
  /** Property path of the last data read (docs/language.md#property-paths), written by access and measure closures. */
  path = "";
  /** `evaluation_details` operands of the last operator call; null when the operator reported a mismatch. */
  dl: TypedValue | null = null;
  dr: TypedValue | null = null;
  steps = 0;
  /** Estimated JSON bytes of the answer built so far (echoed data included). */
  answerBytes = 0;
  /** Step count at which `checkpoint` runs next: the budget, the slice or the next look at the clock. */
  private nextCheck = 0;
  private readonly startedAt: number;
  /** The smaller of the answer bound and the answer slice. */
  private readonly answerCheck: number;
  /** Fuzzy-lookup indexes of wide data objects, built once per evaluation (keys.ts). */
  keyIndexes: WeakMap<object, KeyIndex> | null = null;
  /** JSON sizes of data objects already measured in this evaluation (see `valueBytes`). */
  private sizes: WeakMap<object, number> | null = null;
  readonly computed: unknown[];
  readonly ruleResults: Int8Array;
  readonly ruleEntries: (RuleTrace | undefined)[];
  readonly onStack: Uint8Array;
  readonly stack: number[] = [];
  private todayTextCache: string | null = null;
  /** Partial entry of the top-level rule that failed (docs/language.md#partial-trace). */
  partial: RuleTrace | null = null;

  constructor(
    readonly data: unknown,
    readonly today: number,
    readonly budget: Budget,
    ruleCount: number,
    computedCount: number,
    readonly runtime: RuleRuntime,
  ) {
    this.computed = new Array<unknown>(computedCount).fill(NOT_COMPUTED);
    this.ruleResults = new Int8Array(ruleCount).fill(-1);
    this.ruleEntries = new Array<RuleTrace | undefined>(ruleCount);
    this.onStack = new Uint8Array(ruleCount);
    this.startedAt = budget.deadlineMs === Infinity ? 0 : performance.now();
    this.nextCheck = Math.min(budget.maxSteps, budget.sliceSteps, CHECK_INTERVAL);
    this.answerCheck = Math.min(budget.maxAnswerBytes, budget.sliceAnswerBytes);
  }

  get todayText(): string {
    return (this.todayTextCache ??= dayToText(this.today));
  }

  /** One unit of work (a condition, a rule, a quantifier element). */
  step(): void {
    if (++this.steps > this.nextCheck) this.checkpoint();
  }

  /** `n` units of work, charged before the work is done so that it is never started over budget. */
  charge(n: number): void {
    this.steps += n;
    if (this.steps > this.nextCheck) this.checkpoint();
  }

  private checkpoint(): void {
    const { maxSteps, sliceSteps, deadlineMs } = this.budget;
    if (this.steps > maxSteps) {
      throw evaluationError("evaluation exceeded the step budget of " + String(maxSteps) + " (maxSteps)");
    }
    if (this.steps > sliceSteps) throw new SliceExhausted();
    if (deadlineMs !== Infinity && performance.now() - this.startedAt > deadlineMs) {
      throw evaluationError("evaluation exceeded its deadline of " + String(deadlineMs) + " ms (" + this.budget.deadlineSetting + ")");
    }
    this.nextCheck = Math.min(maxSteps, sliceSteps, this.steps + CHECK_INTERVAL);
  }

  /**
   * One trace entry: `steps` of work plus `bytes` of answer, whose copying costs a step per
   * COST.answerBytesPerStep bytes. One call per condition keeps the hot path to one comparison of each counter.
   */
  entry(steps: number, bytes: number): void {
    this.steps += steps + bytes / COST.answerBytesPerStep;
    this.answerBytes += bytes;
    if (this.steps > this.nextCheck) this.checkpoint();
    if (this.answerBytes > this.answerCheck) this.addAnswer(0);
  }

  /** Counts `bytes` more of the answer; over the bound the evaluation stops (README, "Bounded answers"). */
  addAnswer(bytes: number): void {
    this.answerBytes += bytes;
    if (this.answerBytes > this.budget.maxAnswerBytes) {
      throw evaluationError("the answer would exceed " + String(this.budget.maxAnswerBytes) + " bytes (maxAnswerBytes)");
    }
    if (this.answerBytes > this.budget.sliceAnswerBytes) throw new SliceExhausted();
  }

  /**
   * Estimated JSON size of a value the trace repeats. Strings and scalars cost nothing to measure; a list or object
   * is measured once per evaluation (charged per element) and remembered, so a value repeated by many entries is
   * walked once.
   */
  valueBytes(v: unknown): number {
    if (typeof v === "string") return v.length + 2;
    if (v === null || typeof v !== "object") return 8;
    if (v instanceof DateValue || v instanceof DurationValue) return 24;
    const sizes = (this.sizes ??= new WeakMap());
    const known = sizes.get(v);
    if (known !== undefined) return known;
    let n = 2;
    if (Array.isArray(v)) {
      this.charge(v.length * COST.element);
      for (let i = 0; i < v.length; i++) n += this.valueBytes(v[i]) + 1;
    } else {
      let keys = 0;
      for (const k in v) {
        keys++;
        n += k.length + 4 + this.valueBytes((v as Record<string, unknown>)[k]);
      }
      this.charge(keys * COST.element);
    }
    sizes.set(v, n);
    return n;
  }
}

/**
 * Per-evaluation state. One `Ctx` is allocated per `evaluatePolicy` call; compiled closures read the data and
 * write small side channels (`path`, `dl`, `dr`) instead of returning tuples, which keeps the hot path free of
 * per-step allocations.
 */
import type { ConditionTrace, RuleTrace } from "./api.js";
import { evaluationError } from "./errors.js";
import { dayToText, type TypedValue } from "./values.js";

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

export class Ctx {
  /** Property path of the last data read (docs/language.md#property-paths), written by access and measure closures. */
  path = "";
  /** `evaluation_details` operands of the last operator call; null when the operator reported a mismatch. */
  dl: TypedValue | null = null;
  dr: TypedValue | null = null;
  steps = 0;
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
    readonly maxSteps: number,
    ruleCount: number,
    computedCount: number,
    readonly runtime: RuleRuntime,
  ) {
    this.computed = new Array<unknown>(computedCount).fill(NOT_COMPUTED);
    this.ruleResults = new Int8Array(ruleCount).fill(-1);
    this.ruleEntries = new Array<RuleTrace | undefined>(ruleCount);
    this.onStack = new Uint8Array(ruleCount);
  }

  get todayText(): string {
    return (this.todayTextCache ??= dayToText(this.today));
  }

  /** Fuzzy key scans cost one step per 64 keys visited. */
  chargeKeys(n: number): void {
    this.steps += n / 64;
    if (this.steps > this.maxSteps) {
      throw evaluationError("evaluation exceeded the step budget of " + String(this.maxSteps) + " (maxSteps)");
    }
  }

  step(): void {
    if (++this.steps > this.maxSteps) {
      throw evaluationError("evaluation exceeded the step budget of " + String(this.maxSteps) + " (maxSteps)");
    }
  }
}

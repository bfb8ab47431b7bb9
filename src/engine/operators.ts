/**
 * Operator semantics (docs/language.md#operators), one implementation per operator of operator-table.ts. An operator returns true/false when its operands suit it and null on a
 * mismatch or missing operand (the condition is then false with `evaluation_details: null`, docs/language.md#trace-entries). When it
 * returns a boolean it leaves the compared operands in `ctx.dl` / `ctx.dr`.
 */
import { COST, formatCharsPerStep, PATTERN_UNITS_PER_STEP } from "./costs.js";
import { formatCheck, formatOf } from "./formats.js";
import { type BaseOperatorName, FORMAT_NAMES_IN_TABLE, FORMATS, validatorsOf } from "./operator-table.js";
import type { Ctx } from "./runtime.js";
import { DateValue, DurationValue, coerceDay, dateTextOf, isDateString, typeTag, typed, renderValue } from "./values.js";

export type OpFn = (ctx: Ctx, l: unknown, r: unknown, r2: unknown) => boolean | null;

const EMPTY_RIGHT = Object.freeze({ value: "", type: "string" });
const NULL_LEFT = Object.freeze({ value: null, type: "null" });

function isMissing(v: unknown): boolean {
  return v === undefined || v === null;
}

function isDateLike(v: unknown): boolean {
  return v instanceof DateValue || (typeof v === "string" && isDateString(v));
}

function dateTyped(v: unknown, day: number): { value: string; type: string } {
  return { value: dateTextOf(v, day), type: "date" };
}

/** Text a string operator sees: strings as they are, date literals as written (docs/language.md#typed-values). */
function stringOf(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v instanceof DateValue) return v.text;
  return null;
}

/**
 * Equality (docs/language.md#equality) without touching `ctx`: true/false when comparable, null on a mismatch. Dates compare by day
 * when one side is a date and the other is date-coercible.
 */
export function equalValues(l: unknown, r: unknown, exact: boolean): boolean | null {
  if (isMissing(l) || isMissing(r)) return null;
  const tl = typeof l;
  const tr = typeof r;
  if (tl === "number" && tr === "number") return l === r;
  if (tl === "boolean" && tr === "boolean") return l === r;
  if (isDateLike(l) || isDateLike(r)) {
    const dl = coerceDay(l);
    const dr = coerceDay(r);
    if (!Number.isNaN(dl) && !Number.isNaN(dr)) return dl === dr;
    return null;
  }
  if (tl === "string" && tr === "string") {
    return exact ? l === r : (l as string).toLowerCase() === (r as string).toLowerCase();
  }
  return null;
}

/** Charges what comparing two strings (lowercasing both) costs; anything else is constant work. */
function chargeStrings(ctx: Ctx, l: unknown, r: unknown): void {
  const n = (typeof l === "string" ? l.length : 0) + (typeof r === "string" ? r.length : 0);
  if (n > COST.charsPerStep) ctx.charge(n / COST.charsPerStep);
}

function setEqualityDetails(ctx: Ctx, l: unknown, r: unknown): void {
  if (isDateLike(l) || isDateLike(r)) {
    ctx.dl = dateTyped(l, coerceDay(l));
    ctx.dr = dateTyped(r, coerceDay(r));
  } else {
    ctx.dl = typed(l);
    ctx.dr = typed(r);
  }
}

function equality(exact: boolean, negate: boolean): OpFn {
  return (ctx, l, r) => {
    chargeStrings(ctx, l, r);
    const eq = equalValues(l, r, exact);
    if (eq === null) return null;
    setEqualityDetails(ctx, l, r);
    return negate ? !eq : eq;
  };
}

function numeric(cmp: (a: number, b: number) => boolean): OpFn {
  return (ctx, l, r) => {
    if (typeof l !== "number" || typeof r !== "number") return null;
    ctx.dl = { value: l, type: "number" };
    ctx.dr = { value: r, type: "number" };
    return cmp(l, r);
  };
}

function dateOrder(later: boolean): OpFn {
  return (ctx, l, r) => {
    const dl = coerceDay(l);
    const dr = coerceDay(r);
    if (Number.isNaN(dl) || Number.isNaN(dr)) return null;
    ctx.dl = dateTyped(l, dl);
    ctx.dr = dateTyped(r, dr);
    return later ? dl > dr : dl < dr;
  };
}

/** Membership by equality (docs/language.md#equality); charged per element and, for strings, per character compared. */
function memberOf(ctx: Ctx, list: unknown[], v: unknown): boolean {
  ctx.charge(list.length * (typeof v === "string" ? COST.element + v.length / COST.charsPerStep : COST.element));
  for (const x of list) {
    if (typeof x === "string" && x.length > COST.charsPerStep) ctx.charge(x.length / COST.charsPerStep);
    if (equalValues(v, x, false) === true) return true;
  }
  return false;
}

function inList(negate: boolean): OpFn {
  return (ctx, l, r) => {
    if (isMissing(l) || !Array.isArray(r)) return null;
    ctx.dl = typed(l);
    ctx.dr = typed(r);
    const found = Array.isArray(l) ? false : memberOf(ctx, r, l);
    return negate ? !found : found;
  };
}

function isWordChar(ch: string): boolean {
  return /[\p{L}\p{N}]/u.test(ch);
}

/**
 * Case-insensitive whole-word search of docs/language.md#strings. Each candidate position costs a word-boundary
 * check, charged to `meter`: a needle found at every position of a long text must not be free.
 */
export function containsWord(haystack: string, needle: string, meter?: { charge(steps: number): void }): boolean {
  const h = haystack.toLowerCase();
  const n = needle.toLowerCase();
  if (n.length === 0) return false;
  const firstWord = isWordChar(String.fromCodePoint(n.codePointAt(0) as number));
  const lastChar = Array.from(n).pop() as string;
  const lastWord = isWordChar(lastChar);
  let from = 0;
  for (;;) {
    const i = h.indexOf(n, from);
    if (i < 0) return false;
    meter?.charge(COST.wordCandidate);
    let ok = true;
    if (firstWord && i > 0) {
      const before = Array.from(h.slice(Math.max(0, i - 2), i)).pop();
      if (before !== undefined && isWordChar(before)) ok = false;
    }
    if (ok && lastWord) {
      const after = h.codePointAt(i + n.length);
      if (after !== undefined && isWordChar(String.fromCodePoint(after))) ok = false;
    }
    if (ok) return true;
    from = i + 1;
  }
}

function contains(shorthand: boolean): OpFn {
  return (ctx, l, r) => {
    if (isMissing(l) || isMissing(r)) return null;
    if (Array.isArray(l)) {
      ctx.dl = typed(l);
      ctx.dr = typed(r);
      return Array.isArray(r) ? false : memberOf(ctx, l, r);
    }
    const ls = stringOf(l);
    const rs = stringOf(r);
    if (ls === null || rs === null) return null;
    chargeStrings(ctx, ls, rs);
    ctx.dl = typed(l);
    ctx.dr = typed(r);
    return shorthand ? ls.toLowerCase() === rs.toLowerCase() : containsWord(ls, rs, ctx);
  };
}

function containsSet(all: boolean): OpFn {
  return (ctx, l, r) => {
    if (!Array.isArray(l) || !Array.isArray(r)) return null;
    ctx.dl = typed(l);
    ctx.dr = typed(r);
    if (all) {
      for (const x of r) if (!memberOf(ctx, l, x)) return false;
      return true;
    }
    for (const x of r) if (memberOf(ctx, l, x)) return true;
    return false;
  };
}

function affix(start: boolean): OpFn {
  return (ctx, l, r) => {
    const ls = stringOf(l);
    const rs = stringOf(r);
    if (ls === null || rs === null) return null;
    chargeStrings(ctx, ls, rs);
    ctx.dl = typed(l);
    ctx.dr = typed(r);
    const a = ls.toLowerCase();
    const b = rs.toLowerCase();
    return start ? a.startsWith(b) : a.endsWith(b);
  };
}

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === "string") return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object" && !(v instanceof DateValue) && !(v instanceof DurationValue)) {
    for (const _ in v) return false;
    return true;
  }
  return false;
}

function existence(test: (v: unknown) => boolean): OpFn {
  return (ctx, l) => {
    ctx.dl = isMissing(l) ? NULL_LEFT : typed(l);
    ctx.dr = EMPTY_RIGHT;
    return test(l);
  };
}

function timeWindow(kind: "Within" | "OlderThan" | "YoungerThan", hasAnchor: boolean): OpFn {
  return (ctx, l, r, anchor) => {
    const dl = coerceDay(l);
    if (Number.isNaN(dl) || !(r instanceof DurationValue)) return null;
    let da = ctx.today;
    if (hasAnchor) {
      da = coerceDay(anchor);
      if (Number.isNaN(da)) return null;
    }
    ctx.dl = dateTyped(l, dl);
    ctx.dr = hasAnchor ? dateTyped(anchor, da) : { value: r.rendered, type: "duration" };
    const n = da - dl;
    const d = r.days;
    if (kind === "Within") return Math.abs(n) <= d;
    if (kind === "OlderThan") return n > d;
    return n < d;
  };
}

function pastFuture(past: boolean): OpFn {
  return (ctx, l) => {
    const dl = coerceDay(l);
    if (Number.isNaN(dl)) return null;
    ctx.dl = dateTyped(l, dl);
    ctx.dr = { value: ctx.todayText, type: "date" };
    return past ? dl < ctx.today : dl > ctx.today;
  };
}

const between: OpFn = (ctx, l, lo, hi) => {
  if (typeof l === "number" && typeof lo === "number" && typeof hi === "number") {
    ctx.dl = { value: l, type: "number" };
    ctx.dr = { value: [lo, hi], type: "list" };
    return lo <= l && l <= hi;
  }
  const d = coerceDay(l);
  const a = coerceDay(lo);
  const b = coerceDay(hi);
  if (Number.isNaN(d) || Number.isNaN(a) || Number.isNaN(b)) return null;
  ctx.dl = dateTyped(l, d);
  ctx.dr = { value: [dateTextOf(lo, a), dateTextOf(hi, b)], type: "list" };
  return a <= d && d <= b;
};

/**
 * A test of one string (a format, a pattern). `charsPerStep` prices the test: it is charged before the test runs,
 * so a test over budget never starts.
 */
function stringTest(test: (s: string) => boolean, rightRendered: string, negate: boolean, charsPerStep: number): OpFn {
  const right = Object.freeze({ value: rightRendered, type: "string" });
  return (ctx, l) => {
    const s = stringOf(l);
    if (s === null) return null;
    ctx.charge(s.length / charsPerStep);
    ctx.dl = typed(l);
    ctx.dr = right;
    const ok = test(s);
    return negate ? !ok : ok;
  };
}

function formatValidator(format: string, negate: boolean, rightRendered = ""): OpFn {
  return stringTest(formatCheck(format), rightRendered, negate, formatCharsPerStep(formatOf(format)));
}

/** What a condition tells its operator besides the operands. */
export interface OperatorOptions {
  /** A time operator was given an `of` date. */
  hasAnchor?: boolean;
  /** The condition is written in shorthand. */
  shorthand?: boolean;
  /** `has the format`: the format's name as written (checked by the compiler). */
  format?: string;
  /** `matches pattern`: the compiled pattern and its automaton size. */
  pattern?: { source: string; test(s: string): boolean; cost: number };
}

type Implementation = (options: OperatorOptions) => OpFn;

/**
 * One implementation per operator of the table (operator-table.ts): `satisfies` makes an operator without an
 * implementation, or an implementation without an operator, a type error.
 */
const IMPLEMENTATIONS = {
  GreaterThan: () => numeric((a, b) => a > b),
  GreaterThanOrEqual: () => numeric((a, b) => a >= b),
  LessThan: () => numeric((a, b) => a < b),
  LessThanOrEqual: () => numeric((a, b) => a <= b),
  EqualTo: () => equality(false, false),
  ExactlyEqualTo: () => equality(true, false),
  NotEqualTo: () => equality(false, true),
  LaterThan: () => dateOrder(true),
  EarlierThan: () => dateOrder(false),
  In: () => inList(false),
  NotIn: () => inList(true),
  Contains: (o) => contains(o.shorthand === true),
  ContainsAllOf: () => containsSet(true),
  ContainsAnyOf: () => containsSet(false),
  StartsWith: () => affix(true),
  EndsWith: () => affix(false),
  IsEmpty: () => existence(isEmptyValue),
  IsNotEmpty: () => existence((v) => !isEmptyValue(v)),
  Exists: () => existence((v) => !isMissing(v)),
  DoesNotExist: () => existence(isMissing),
  IsNull: () => existence(isMissing),
  IsNotNull: () => existence((v) => !isMissing(v)),
  Within: (o) => timeWindow("Within", o.hasAnchor === true),
  OlderThan: (o) => timeWindow("OlderThan", o.hasAnchor === true),
  YoungerThan: (o) => timeWindow("YoungerThan", o.hasAnchor === true),
  IsInThePast: () => pastFuture(true),
  IsInTheFuture: () => pastFuture(false),
  IsBetween: () => between,
  HasFormat: (o) => formatValidator(o.format ?? "", false, o.format ?? ""),
  MatchesPattern: (o) => {
    const pattern = o.pattern as NonNullable<OperatorOptions["pattern"]>;
    return stringTest(pattern.test, pattern.source, false, PATTERN_UNITS_PER_STEP / pattern.cost);
  },
} satisfies Record<BaseOperatorName, Implementation>;

/** The validator pairs of the table's formats: `IsValidEmail`, `IsNotValidEmail`, … */
const VALIDATORS: ReadonlyMap<string, Implementation> = new Map(
  FORMAT_NAMES_IN_TABLE.flatMap((format) =>
    validatorsOf(format).map(({ name, negated }) => [name, () => formatValidator(FORMATS[format].words[0], negated)] as const),
  ),
);

/** The implementation of the operator the parser named; null for a name the table does not have. */
export function operatorFor(op: string, options: OperatorOptions = {}): OpFn | null {
  const implementation = Object.hasOwn(IMPLEMENTATIONS, op) ? IMPLEMENTATIONS[op as BaseOperatorName] : VALIDATORS.get(op);
  return implementation ? implementation(options) : null;
}

export { typeTag, renderValue };

/**
 * Operator semantics (docs/language.md#operators). An operator returns true/false when its operands suit it and null on a
 * mismatch or missing operand (the condition is then false with `evaluation_details: null`, docs/language.md#trace-entries). When it
 * returns a boolean it leaves the compared operands in `ctx.dl` / `ctx.dr`.
 */
import { COST, formatCharsPerStep } from "./costs.js";
import { checkFormat } from "./formats.js";
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

/** Format name (formats.ts) checked by each validator variant suffix. */
export const VALIDATOR_FORMATS: Record<string, string> = {
  Email: "email",
  Url: "url",
  Uuid: "uuid",
  Phone: "phone",
  Date: "date",
  Time: "time",
  Datetime: "datetime",
  Iso8601: "iso8601",
  IpAddress: "ip",
  Ipv4Address: "ipv4",
  Ipv6Address: "ipv6",
  Cidr: "cidr",
  Json: "json",
  Base64: "base64",
  HexColor: "hex color",
  Semver: "semver",
  Toml: "toml",
  UriReference: "uri reference",
  DataUrl: "data url",
  MacAddress: "mac address",
};

/**
 * A test of one string (a format, a pattern). `charsPerStep` prices the test: it is charged before the test runs,
 * so a test over budget never starts.
 */
export function stringTest(test: (s: string) => boolean, rightRendered: string, negate: boolean, charsPerStep: number): OpFn {
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

export function formatValidator(format: string, negate: boolean, rightRendered = ""): OpFn {
  return stringTest((s) => checkFormat(format, s), rightRendered, negate, formatCharsPerStep(format));
}

export interface OperatorOptions {
  hasAnchor?: boolean;
  shorthand?: boolean;
}

export function operatorFor(op: string, opts: OperatorOptions = {}): OpFn | null {
  switch (op) {
    case "GreaterThan":
      return numeric((a, b) => a > b);
    case "GreaterThanOrEqual":
      return numeric((a, b) => a >= b);
    case "LessThan":
      return numeric((a, b) => a < b);
    case "LessThanOrEqual":
      return numeric((a, b) => a <= b);
    case "EqualTo":
      return equality(false, false);
    case "ExactlyEqualTo":
      return equality(true, false);
    case "NotEqualTo":
      return equality(false, true);
    case "LaterThan":
      return dateOrder(true);
    case "EarlierThan":
      return dateOrder(false);
    case "In":
      return inList(false);
    case "NotIn":
      return inList(true);
    case "Contains":
      return contains(opts.shorthand === true);
    case "ContainsAllOf":
      return containsSet(true);
    case "ContainsAnyOf":
      return containsSet(false);
    case "StartsWith":
      return affix(true);
    case "EndsWith":
      return affix(false);
    case "IsEmpty":
      return existence(isEmptyValue);
    case "IsNotEmpty":
      return existence((v) => !isEmptyValue(v));
    case "Exists":
    case "IsNotNull":
      return existence((v) => !isMissing(v));
    case "DoesNotExist":
    case "IsNull":
      return existence(isMissing);
    case "Within":
    case "OlderThan":
    case "YoungerThan":
      return timeWindow(op, opts.hasAnchor === true);
    case "IsInThePast":
      return pastFuture(true);
    case "IsInTheFuture":
      return pastFuture(false);
    case "IsBetween":
      return between;
    default:
      break;
  }
  if (op.startsWith("IsNotValid")) {
    const f = VALIDATOR_FORMATS[op.slice("IsNotValid".length)];
    return f ? formatValidator(f, true) : null;
  }
  if (op.startsWith("IsValid")) {
    const f = VALIDATOR_FORMATS[op.slice("IsValid".length)];
    return f ? formatValidator(f, false) : null;
  }
  return null;
}

export { typeTag, renderValue };

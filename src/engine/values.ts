/**
 * Typed values of docs/language.md#typed-values: classification of JSON values, calendar dates as day numbers, durations, and the
 * trace rendering of docs/language.md#rendered-values. Dates are handled as whole UTC days since 1970-01-01 so that every date operator is
 * integer arithmetic (no `Date` objects on the hot path).
 */

export type TypeTag = "number" | "string" | "date" | "boolean" | "duration" | "list" | "null" | "object";

export interface TypedValue {
  value: unknown;
  type: string;
}

/** A date written in the policy (`2024-01-05`, `date(2024-01-05)`) or produced by date coercion. */
export class DateValue {
  constructor(
    readonly text: string,
    readonly day: number,
  ) {}
}

const UNIT_SECONDS: Record<string, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86400,
  week: 604800,
  month: 2629746,
  year: 31556952,
  decade: 315569520,
  century: 3155695200,
};

const PLURALS: Record<string, string> = {
  second: "seconds",
  minute: "minutes",
  hour: "hours",
  day: "days",
  week: "weeks",
  month: "months",
  year: "years",
  decade: "decades",
  century: "centuries",
};

export function singularUnit(unit: string): string {
  if (unit === "centuries") return "century";
  return unit.endsWith("s") ? unit.slice(0, -1) : unit;
}

export class DurationValue {
  readonly seconds: number;
  readonly days: number;
  readonly rendered: string;
  constructor(
    readonly amount: number,
    /** As written (`years`). */
    readonly unit: string,
  ) {
    const base = singularUnit(unit);
    this.seconds = amount * (UNIT_SECONDS[base] ?? 0);
    this.days = this.seconds / 86400;
    this.rendered = formatNumber(amount) + " " + (amount === 1 ? base : (PLURALS[base] ?? unit));
  }
}

export function formatNumber(n: number): string {
  return String(n);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Day number of the `YYYY-MM-DD` prefix of `s`, or NaN if it is not a real calendar date. */
function prefixDay(s: string): number {
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const a = digit(s, 0),
    b = digit(s, 1),
    c = digit(s, 2),
    d = digit(s, 3);
  const e = digit(s, 5),
    f = digit(s, 6),
    g = digit(s, 8),
    h = digit(s, 9);
  if ((a | b | c | d | e | f | g | h) < 0) return NaN;
  const y = a * 1000 + b * 100 + c * 10 + d;
  const m = e * 10 + f;
  const day = g * 10 + h;
  if (m < 1 || m > 12 || day < 1) return NaN;
  const max = m === 2 && isLeap(y) ? 29 : (DAYS_IN_MONTH[m - 1] ?? 0);
  if (day > max) return NaN;
  return daysFromCivil(y, m, day);
}

/** A string that is exactly a real `YYYY-MM-DD` date is typed `date` (docs/language.md#typed-values). */
export function exactDateDay(s: string): number {
  return s.length === 10 ? prefixDay(s) : NaN;
}

export function isDateString(s: string): boolean {
  return s.length === 10 && !Number.isNaN(prefixDay(s));
}

/** Day of a date-coercible value (docs/language.md#typed-values), or NaN. */
export function coerceDay(v: unknown): number {
  if (v instanceof DateValue) return v.day;
  if (typeof v !== "string") return NaN;
  if (v.length === 10) return prefixDay(v);
  if (v.length > 10) {
    const sep = v.charCodeAt(10);
    if (sep === 84 /* T */ || sep === 32) return prefixDay(v);
  }
  return NaN;
}

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : "0".repeat(width - s.length) + s;
}

/** `YYYY-MM-DD` of a day number (Howard Hinnant's civil_from_days; no `Date` allocation). */
export function dayToText(day: number): string {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2);
}

/** Calendar-date text of a date-coercible value whose day is `day`: the written date part when there is one. */
export function dateTextOf(v: unknown, day: number): string {
  if (typeof v === "string") return v.slice(0, 10);
  if (v instanceof DateValue) return v.text;
  return dayToText(day);
}

export function todayDay(now: Date): number {
  return Math.floor(now.getTime() / 86400000);
}

export function typeTag(v: unknown): TypeTag {
  switch (typeof v) {
    case "number":
      return "number";
    case "string":
      return isDateString(v) ? "date" : "string";
    case "boolean":
      return "boolean";
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) return "list";
      if (v instanceof DateValue) return "date";
      if (v instanceof DurationValue) return "duration";
      return "object";
    default:
      return "null";
  }
}

/** The rendered form of a value inside a list (docs/language.md#rendered-values). */
function renderElement(v: unknown): unknown {
  if (v instanceof DateValue) return v.text;
  if (v instanceof DurationValue) return v.rendered;
  if (v === null || typeof v !== "object") return v === undefined ? null : v;
  return null;
}

export function renderValue(v: unknown): unknown {
  if (v instanceof DateValue) return v.text;
  if (v instanceof DurationValue) return v.rendered;
  if (Array.isArray(v)) return v.map(renderElement);
  return v === undefined ? null : v;
}

/** A value as reported in `property.value`: the raw JSON, with engine-made values in their text form. */
export function rawValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v !== "object" || v === null) return v;
  if (v instanceof DateValue) return v.text;
  if (v instanceof DurationValue) return v.rendered;
  return v;
}

export function typed(v: unknown): TypedValue {
  return { value: renderValue(v), type: typeTag(v) };
}

/** Compact JSON text for error messages (`"tester"`, `42`). */
export function jsonText(v: unknown): string {
  if (v instanceof DateValue) return JSON.stringify(v.text);
  if (v instanceof DurationValue) return JSON.stringify(v.rendered);
  if (v === undefined) return "null";
  try {
    return JSON.stringify(v) ?? "null";
  } catch {
    return String(v);
  }
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Number of a number or numeric string (docs/language.md#typed-values), else NaN. */
export function numericValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim();
    if (NUMERIC.test(t)) return Number(t);
  }
  return NaN;
}

export function durationOf(amount: number, unit: string): DurationValue {
  return new DurationValue(amount, unit);
}

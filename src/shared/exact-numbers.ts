import { randomUUID } from "node:crypto";
import { isLosslessNumber, LosslessNumber, parse as parseLossless, stringify as stringifyLossless } from "lossless-json";
import { isOpaqueJson, OPAQUE_JSON } from "./opaque-json.js";

/**
 * Clients of the REST shim rely on this (src/rest/README.md): `data` comes back exactly as the client sent it, numbers included — `1541815603606036481` stays
 * `1541815603606036481` although the language compares IEEE-754 doubles (docs/language.md), where it is
 * 1541815603606036500. The engine always gets doubles; the echo is written from the digits the client sent.
 * One mechanism for every transport: REST bodies (src/rest), GraphQL variables and inline literals (src/graphql).
 *
 * Almost every number a client sends survives the round trip through a double, so a request's text is only
 * scanned (strings skipped) for one that does not; only then is it parsed again keeping *those* numbers as their
 * source text (lossless-json's LosslessNumber, much slower than JSON.parse). Numbers a double holds exactly stay
 * plain numbers, so other GraphQL variables (`Int`, `Float`) are unaffected.
 */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Whether a number written this way comes back with other digits from a double (1e400, -0, 2^64, 1.0…). */
export const isInexactNumber = (digits: string): boolean => String(Number(digits)) !== digits;

/**
 * What any inexact number's text holds, in or out of strings: a fraction or exponent (a digit then `.`, `e` or `E`), 16
 * digits in a row, or `-0` not followed by a digit. A JSON number with none of these is an integer of at most 15
 * digits without leading zeros (JSON allows none) other than -0, which a double holds and prints back digit for
 * digit. Most bodies hold only such integers, and one test of this is far cheaper than the token by token scan.
 */
const MAYBE_INEXACT = /\d[.eE]|\d{16}|-0(?!\d)/;

/** False when no number in the JSON text can be inexact (MAYBE_INEXACT); true when one may be. */
export const mayHoldInexactNumber = (text: string): boolean => MAYBE_INEXACT.test(text);

/** Whether some number in the JSON text would come back with other digits from a double. */
export function hasInexactNumber(text: string): boolean {
  if (!mayHoldInexactNumber(text)) return false;
  STRING_OR_NUMBER.lastIndex = 0;
  for (let match = STRING_OR_NUMBER.exec(text); match !== null; match = STRING_OR_NUMBER.exec(text)) {
    const token = match[0];
    if (token.charCodeAt(0) !== 34 /* " */ && isInexactNumber(token)) return true;
  }
  return false;
}

/** A number as the engine gets it, or as its source text when a double would change it. */
export const numberKeepingDigits = (digits: string): number | LosslessNumber => (isInexactNumber(digits) ? new LosslessNumber(digits) : Number(digits));

/** Parses JSON text like JSON.parse, except that numbers a double would change are LosslessNumbers. */
export const parseKeepingDigits = (text: string): unknown => parseLossless(text, null, numberKeepingDigits);

/** JSON text of a value that may hold LosslessNumbers, each written with its digits. */
export const stringifyKeepingDigits = (value: unknown): string | undefined => stringifyLossless(value);

/**
 * The JSON text of the `data` member of a request body, every number with the digits sent; undefined when the
 * ordinary serialisation of the parsed value is already exact (the common case).
 */
export function exactDataJson(bodyText: string | undefined): string | undefined {
  if (bodyText === undefined || !hasInexactNumber(bodyText)) return undefined;
  const body = parseKeepingDigits(bodyText) as { data?: unknown } | null;
  if (body === null || typeof body !== "object" || !("data" in body)) return undefined;
  return stringifyKeepingDigits(body.data);
}

/** Whether a value parsed with parseKeepingDigits holds a number a double would change. Walks without recursion. */
export function holdsExactDigits(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === null || typeof current !== "object") continue;
    if (isLosslessNumber(current)) return true;
    for (const child of Object.values(current)) stack.push(child);
  }
  return false;
}

/** The value with every LosslessNumber as the double the language compares (1e400 → Infinity, as JSON.parse). */
export function toDoubles(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(toDoubles);
  const doubles: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) doubles[key] = toDoubles(child);
  return doubles;
}

/**
 * Input values (the doubles the engine gets) whose echo must be written from other text. Weak: an entry lives as
 * long as its request's value, in this process only.
 */
const exactTexts = new WeakMap<object, string>();

/** Records that `value`, when echoed, is written as `json` (the same value with the client's digits). */
export function rememberExactJson(value: unknown, json: string): void {
  if (value !== null && typeof value === "object") exactTexts.set(value, json);
}

/**
 * A JSON value written out as given text. JSON.stringify cannot write raw text (JSON.rawJSON is newer than the
 * Node this runs on), so it writes a placeholder string that `stringifyWithExactJson` swaps for the text. The
 * placeholder carries a token random per process: client strings cannot forge one.
 */
const PLACEHOLDER = `verdict-exact-json-${randomUUID()}:`;
/**
 * Inside stringifyWithExactJson the placeholder names the text by its index in `written` instead of carrying it:
 * escaping a megabyte of echo into a JSON string, finding it again and unescaping it cost the event loop several
 * passes over the megabyte (a large GraphQL `data` variable's echo, opaque-json.ts).
 */
const INDEXED_PLACEHOLDER = new RegExp(`"${PLACEHOLDER}#(\\d+)"`, "g");
let written: string[] | null = null;

export class ExactJson {
  constructor(readonly json: string) {}
  /** Outside stringifyWithExactJson (a log line, say) nothing would swap a placeholder back: the value is written, as doubles. */
  toJSON(): unknown {
    if (written === null) return JSON.parse(this.json);
    written.push(this.json);
    return `${PLACEHOLDER}#${written.length - 1}`;
  }
}

/**
 * The echo of an input value: its client's digits when they differ from its doubles, else the value itself. Data
 * the event loop never parsed (opaque-json.ts) is echoed as its text.
 */
export function echoOf<T>(input: unknown, echoed: T): T | ExactJson {
  if (isOpaqueJson(echoed)) return new ExactJson(echoed[OPAQUE_JSON].text());
  if (echoed == null || input === null || typeof input !== "object") return echoed;
  const json = exactTexts.get(input);
  return json === undefined ? echoed : new ExactJson(json);
}

/** JSON.stringify, writing each ExactJson as its text. Costs a substring search when there is none. */
export function stringifyWithExactJson(value: unknown): string {
  const outer = written;
  const texts: string[] = [];
  written = texts;
  let text: string;
  try {
    text = JSON.stringify(value);
  } finally {
    written = outer;
  }
  if (texts.length === 0) return text;
  return text.replace(INDEXED_PLACEHOLDER, (_match, index: string) => texts[Number(index)]!);
}

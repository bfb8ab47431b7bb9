/**
 * Text -> AST. Wraps the generated PEG parser (grammar/policy.peggy) with the helper functions its actions need
 * and turns its failures into `Parse error: --> L:C …` messages (docs/language.md#errors).
 */
import type { CondItemAst, CondAst, DateAst, DurationAst, PolicyAst } from "./ast.js";
import { EngineError, parseError } from "./errors.js";
import { parse as peggyParse } from "./grammar/parser.generated.js";
import { checkNesting } from "./limits.js";
import { outcomeKey } from "./outcome.js";
import { DurationValue, exactDateDay } from "./values.js";

const ARITY: Record<string, [number, number]> = {
  sqrt: [1, 1],
  min: [1, Infinity],
  max: [1, Infinity],
  clamp: [3, 3],
  floor: [1, 1],
  ceil: [1, 1],
  ceiling: [1, 1],
  round: [1, 2],
  abs: [1, 1],
  absolute: [1, 1],
};

function firstPathSegment(list: CondItemAst[]): string {
  const visit = (c: CondAst): string | null => {
    switch (c.kind) {
      case "cmp": {
        if (c.left.kind === "access") {
          const link = c.left.chains[0]?.links[0];
          if (link && link.marker === "path") return link.name.split(".")[0] ?? "";
        }
        return null;
      }
      case "not":
        return visit(c.cond);
      case "group":
        for (const i of c.list) {
          const r = visit(i.cond);
          if (r !== null) return r;
        }
        return null;
      default:
        return null;
    }
  };
  for (const i of list) {
    const r = visit(i.cond);
    if (r !== null) return r;
  }
  return "";
}

const helpers = {
  collapse: (s: string): string => s.replace(/[ \t\r\n]+/g, " ").trim(),
  outcomeKey,
  firstPathSegment,
  checkArity(name: string, n: number): string | null {
    const a = ARITY[name];
    if (!a) return null;
    if (n < a[0] || n > a[1]) {
      const want = a[0] === a[1] ? String(a[0]) : a[1] === Infinity ? "at least " + String(a[0]) : String(a[0]) + " or " + String(a[1]);
      return name + "() takes " + want + " argument" + (a[0] === 1 && a[1] === 1 ? "" : "s") + ", got " + String(n);
    }
    return null;
  },
  duration(value: number, text: string, unit: string): DurationAst {
    const d = new DurationValue(value, unit);
    return { kind: "dur", amount: value, unit, seconds: d.seconds, text: text + " " + unit };
  },
  dateLiteral(t: string): DateAst | null {
    const day = exactDateDay(t);
    if (Number.isNaN(day)) return null;
    return { kind: "date", value: t, day, text: t };
  },
};

interface PeggyLocation {
  start: { line: number; column: number };
}
interface PeggyExpectation {
  type: string;
  text?: string;
  description?: string;
}
interface PeggyError {
  message: string;
  location?: PeggyLocation;
  expected?: PeggyExpectation[] | null;
  found?: string | null;
}

// Expectations that only say "more whitespace would also do" add nothing to a message.
const QUIET = new Set(["whitespace", "end of word", "word"]);

function expectationText(e: PeggyExpectation): string | null {
  if (e.type === "literal") return "'" + (e.text ?? "") + "'";
  if (e.type === "end") return "end of text";
  if (e.type === "other") return QUIET.has(e.description ?? "") ? null : (e.description ?? null);
  return null;
}

/** "expected A, B or C but 'x' found", from the parser's expectation set. */
function describe(err: PeggyError): string {
  // Errors raised by grammar actions carry their own message and no expectation set.
  if (!err.expected) return err.message;
  const items: string[] = [];
  for (const e of err.expected ?? []) {
    const t = expectationText(e);
    if (t !== null && !items.includes(t)) items.push(t);
  }
  const found = err.found === null || err.found === undefined ? "end of text" : "'" + err.found + "'";
  if (items.length === 0) return "unexpected " + found;
  const list = items.length === 1 ? (items[0] as string) : items.slice(0, -1).join(", ") + " or " + (items[items.length - 1] as string);
  return "expected " + list + " but " + found + " found";
}

/** The parser counts UTF-16 units; the guide counts code points (docs/language.md#text-and-comments). */
function codePointColumn(text: string, line: number, column: number): number {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return column;
    start = nl + 1;
  }
  let cp = 1;
  for (let i = start; i < start + column - 1 && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) i++;
    cp++;
  }
  return cp;
}

export function parseText(text: string): PolicyAst {
  checkNesting(text);
  try {
    return peggyParse(text, { helpers }) as PolicyAst;
  } catch (e) {
    if (e instanceof EngineError) throw e;
    if (e instanceof RangeError) throw parseError("policy is nested too deeply to parse");
    const pe = e as PeggyError;
    if (pe && typeof pe === "object" && pe.location) {
      const { line, column } = pe.location.start;
      throw parseError(describe(pe), line, codePointColumn(text, line, column));
    }
    throw e;
  }
}

/**
 * `matches pattern "…"` (docs/language.md#formats-and-patterns): ECMAScript regular expressions, evaluated in linear time.
 *
 * Patterns come from policy authors and inputs from request data, so a backtracking engine (V8's) would let one
 * request pin a CPU for minutes (`(a+)+$`). Instead the pattern is
 *   1. checked for ECMAScript validity by V8 itself (`new RegExp`, which parses but never matches here), so
 *      "invalid pattern" means exactly what it means in JavaScript, Annex B legacy syntax included;
 *   2. translated from ECMAScript (no flags, non-Unicode mode) into RE2 syntax, spelling out every character class
 *      as explicit code-point ranges because the two dialects disagree on `.`, `\s`, identity escapes, octal
 *      escapes, literal `{` and `]`, and more;
 *   3. compiled by re2js, a linear-time automaton engine (lookbehinds included, through its LOOKBEHINDS mode).
 * Constructs that need backtracking (backreferences, lookaheads) are refused with a message naming them, and so
 * are patterns whose automaton would be large (see MAX_PATTERN_SIZE): linear time is only useful with a small
 * constant.
 *
 * Known deviation: a character outside the Basic Multilingual Plane counts as one character (as with the `u`
 * flag), where non-Unicode ECMAScript sees two UTF-16 code units. `^.$` therefore matches "😀".
 */
import { RE2JS } from "re2js";

export const MAX_PATTERN_LENGTH = 1000;
/** RE2's bound on `{n,m}`; larger counts would also make the automaton huge. */
const MAX_REPEAT = 1000;
/**
 * Bound on the automaton size after repetitions are expanded (`.{1000}` is 1,000 units, `(ab){3}` 6). Matching
 * is linear in the input but also proportional to this size when RE2 cannot use its DFA. Measured with re2js on
 * non-matching 100 kB strings: 5,000 units took 11 s; at this bound the worst seen was about 0.2 s (so roughly
 * 10 s for a 5 MB string, the most data the engine accepts). Realistic validation patterns stay far below it.
 */
export const MAX_PATTERN_SIZE = 1000;
/** re2js runs a lookbehind's automaton at every input position: measured 10–40 times the cost of plain states. */
const LOOKBEHIND_WEIGHT = 32;

export type CompiledPattern =
  | {
      ok: true;
      test(input: string): boolean;
      /**
       * Expanded automaton size (at most MAX_PATTERN_SIZE). Worst-case work of one `test` is about
       * `cost × input.length` automaton steps, for callers that budget work.
       */
      cost: number;
    }
  | { ok: false; message: string };

// Compiled patterns by source: compiling a large automaton costs tens of milliseconds, and a policy (or many
// requests) may repeat the same pattern. Compiled patterns are immutable; the cache is bounded.
const COMPILED_LIMIT = 256;
const compiledPatterns = new Map<string, CompiledPattern>();

export function compilePattern(source: string): CompiledPattern {
  let p = compiledPatterns.get(source);
  if (p === undefined) {
    p = compileUncached(source);
    if (compiledPatterns.size >= COMPILED_LIMIT) compiledPatterns.delete(compiledPatterns.keys().next().value as string);
    compiledPatterns.set(source, p);
  }
  return p;
}

function compileUncached(source: string): CompiledPattern {
  if (source.length > MAX_PATTERN_LENGTH) {
    return { ok: false, message: `regular expression is longer than ${MAX_PATTERN_LENGTH} characters` };
  }
  try {
    new RegExp(source);
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : "Invalid regular expression" };
  }
  let translated: Piece;
  try {
    translated = new Translator(source).translate();
  } catch (e) {
    if (e instanceof UnsupportedPattern) return { ok: false, message: e.message };
    throw e;
  }
  if (translated.size > MAX_PATTERN_SIZE) {
    return {
      ok: false,
      message: `regular expression is too large: with repetitions expanded it needs ${translated.size} automaton units (limit ${MAX_PATTERN_SIZE})`,
    };
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(translated.re, RE2JS.LOOKBEHINDS);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return { ok: false, message: `regular expression is too complex for linear-time matching (${detail})` };
  }
  return { ok: true, test: (input: string) => compiled.test(input), cost: Math.max(1, translated.size) };
}

class UnsupportedPattern extends Error {}

/** Translated RE2 text and its automaton size in units: repetitions multiply, lookbehinds weigh more. */
interface Piece {
  re: string;
  size: number;
}

type Range = readonly [number, number];
type CharSet = Range[];

const MAX_CODE_POINT = 0x10ffff;

const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
// ECMAScript WhiteSpace + LineTerminator (RE2's \s is only [\t\n\f\r ]).
const SPACE: CharSet = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: CharSet = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function normalize(set: CharSet): CharSet {
  const sorted = [...set].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of normalize(set)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function literal(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) {
    return String.fromCodePoint(cp);
  }
  return `\\x{${cp.toString(16)}}`;
}

function emitSet(set: CharSet): string {
  const ranges = normalize(set);
  // RE2 has no empty class; "not everything" matches nothing, like ECMAScript's `[]`.
  if (ranges.length === 0) return `[^\\x{0}-\\x{${MAX_CODE_POINT.toString(16)}}]`;
  return `[${ranges.map(([lo, hi]) => (lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`)).join("")}]`;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "7";
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
const isAsciiLetter = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);
const isHighSurrogate = (u: number): boolean => u >= 0xd800 && u <= 0xdbff;
const isLowSurrogate = (u: number): boolean => u >= 0xdc00 && u <= 0xdfff;

/** One class atom: a single character or a class escape (`\d` …), which Annex B forbids as a range end. */
type ClassAtom = { kind: "char"; cp: number } | { kind: "set"; set: CharSet };

/**
 * Recursive-descent translator for the ECMAScript pattern grammar with Annex B (non-Unicode) extensions. The
 * input is already known to be valid ECMAScript, so the translator only needs to decide meaning, not validity.
 */
class Translator {
  private pos = 0;
  private readonly groupCount: number;
  private readonly hasNamedGroups: boolean;

  constructor(private readonly src: string) {
    const scan = scanGroups(src);
    this.groupCount = scan.count;
    this.hasNamedGroups = scan.named;
  }

  translate(): Piece {
    const out = this.disjunction();
    if (this.pos !== this.src.length) throw new UnsupportedPattern(`unexpected ")" at offset ${this.pos}`);
    return out;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private disjunction(): Piece {
    const alternatives = [this.alternative()];
    while (this.peek() === "|") {
      this.pos++;
      alternatives.push(this.alternative());
    }
    return {
      re: alternatives.map((a) => a.re).join("|"),
      size: alternatives.reduce((sum, a) => sum + a.size, alternatives.length - 1),
    };
  }

  private alternative(): Piece {
    let re = "";
    let size = 0;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") return { re, size };
      const term = this.term();
      re += term.re;
      size += term.size;
    }
  }

  private term(): Piece {
    const c = this.peek();
    if (c === "^" || c === "$") {
      this.pos++;
      return { re: c, size: 1 };
    }
    if (c === "\\" && (this.peek(1) === "b" || this.peek(1) === "B")) {
      this.pos += 2;
      return { re: `\\${this.src[this.pos - 1]}`, size: 1 };
    }
    if (c === "(" && this.peek(1) === "?") {
      const kind = this.src.slice(this.pos, this.pos + 4);
      if (kind.startsWith("(?=") || kind.startsWith("(?!")) {
        throw new UnsupportedPattern(`lookahead "${kind.slice(0, 3)}" is not supported in patterns (only linear-time constructs are allowed)`);
      }
      if (kind === "(?<=" || kind === "(?<!") {
        this.pos += 4;
        const inner = this.disjunction();
        this.expect(")");
        // Lookbehinds are not quantifiable in ECMAScript, so no quantifier follows.
        return { re: `${kind}${inner.re})`, size: inner.size * LOOKBEHIND_WEIGHT + 1 };
      }
    }
    const atom = this.atom();
    const q = this.quantifier();
    return { re: atom.re + q.re, size: atom.size * q.factor + (q.re === "" ? 0 : 1) };
  }

  private expect(c: string): void {
    if (this.peek() !== c) throw new UnsupportedPattern(`expected "${c}" at offset ${this.pos}`);
    this.pos++;
  }

  /** Reads `{n}`, `{n,}` or `{n,m}` at the current position without consuming it; null when it is no quantifier. */
  private bracedQuantifier(): { min: string; max: string | null; length: number } | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 2 * MAX_PATTERN_LENGTH));
    if (m === null) return null;
    return { min: m[1] ?? "0", max: m[2] === undefined ? (m[1] ?? "0") : m[3] === "" ? null : (m[3] ?? null), length: m[0].length };
  }

  /** The quantifier text and how many copies of its atom the automaton holds (RE2 expands `{n,m}`). */
  private quantifier(): { re: string; factor: number } {
    const c = this.peek();
    let re: string;
    let factor: number;
    if (c === "*" || c === "+" || c === "?") {
      this.pos++;
      re = c;
      factor = 1;
    } else if (c === "{") {
      const q = this.bracedQuantifier();
      if (q === null) return { re: "", factor: 1 };
      this.pos += q.length;
      const min = Number(q.min);
      const max = q.max === null ? null : Number(q.max);
      if (min > MAX_REPEAT || (max !== null && max > MAX_REPEAT)) {
        throw new UnsupportedPattern(`repetition counts above ${MAX_REPEAT} are not supported ("${this.src.slice(this.pos - q.length, this.pos)}")`);
      }
      re = max === null ? `{${min},}` : max === min ? `{${min}}` : `{${min},${max}}`;
      factor = Math.max(1, max ?? min + 1);
    } else {
      return { re: "", factor: 1 };
    }
    if (this.peek() === "?") {
      this.pos++;
      re += "?";
    }
    return { re, factor };
  }

  private atom(): Piece {
    const c = this.peek();
    switch (c) {
      case ".":
        this.pos++;
        return { re: emitSet(complement(LINE_TERMINATORS)), size: 1 };
      case "[":
        return { re: this.characterClass(), size: 1 };
      case "(":
        return this.group();
      case "\\":
        return { re: this.atomEscape(), size: 1 };
      default:
        // Includes Annex B's literal `{`, `}` and `]`.
        return { re: literal(this.readSourceCharacter()), size: 1 };
    }
  }

  private group(): Piece {
    this.pos++; // (
    if (this.peek() === "?") {
      if (this.peek(1) === ":") {
        this.pos += 2;
      } else if (this.peek(1) === "<") {
        // Named capture: captures are never observed (only a boolean is), so it becomes a plain group.
        const close = this.src.indexOf(">", this.pos);
        if (close === -1) throw new UnsupportedPattern(`unterminated group name at offset ${this.pos}`);
        this.pos = close + 1;
      } else {
        throw new UnsupportedPattern(`unsupported group syntax "(?${this.peek(1) ?? ""}" at offset ${this.pos - 1}`);
      }
    }
    const inner = this.disjunction();
    this.expect(")");
    return { re: `(?:${inner.re})`, size: inner.size };
  }

  /** A source character, with a surrogate pair read as one code point. */
  private readSourceCharacter(): number {
    const cp = this.src.codePointAt(this.pos) ?? 0;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private atomEscape(): string {
    const next = this.peek(1);
    if (isDigit(next) && next !== "0") {
      const digits = /^\d+/.exec(this.src.slice(this.pos + 1))?.[0] ?? "";
      if (Number(digits) <= this.groupCount) {
        throw new UnsupportedPattern(`backreference "\\${digits}" is not supported in patterns (only linear-time constructs are allowed)`);
      }
    }
    if (next === "k" && this.hasNamedGroups) {
      throw new UnsupportedPattern(`named backreference "\\k" is not supported in patterns (only linear-time constructs are allowed)`);
    }
    const atom = this.escape(false);
    return atom.kind === "set" ? emitSet(atom.set) : literal(atom.cp);
  }

  /**
   * Reads an escape starting at the backslash (outside or inside a class). `\b`/`\B` outside a class and
   * backreferences were handled by the caller.
   */
  private escape(inClass: boolean): ClassAtom {
    const c = this.peek(1);
    if (c === undefined) throw new UnsupportedPattern("pattern ends with a backslash");
    switch (c) {
      case "d":
      case "D":
      case "w":
      case "W":
      case "s":
      case "S": {
        this.pos += 2;
        const base = c === "d" || c === "D" ? DIGIT : c === "w" || c === "W" ? WORD : SPACE;
        return { kind: "set", set: c === c.toLowerCase() ? base : complement(base) };
      }
      case "f":
        return this.char(2, 0x0c);
      case "n":
        return this.char(2, 0x0a);
      case "r":
        return this.char(2, 0x0d);
      case "t":
        return this.char(2, 0x09);
      case "v":
        return this.char(2, 0x0b);
      case "b":
        // Only reached inside a class, where `\b` is backspace.
        return this.char(2, 0x08);
      case "c": {
        const letter = this.peek(2);
        if (isAsciiLetter(letter) || (inClass && (isDigit(letter) || letter === "_"))) {
          return this.char(3, (letter ?? "\0").charCodeAt(0) % 32);
        }
        // Annex B: a `\` not starting a valid `\c` escape is a literal backslash; the `c` is read next.
        return this.char(1, 0x5c);
      }
      case "x": {
        const hex = this.src.slice(this.pos + 2, this.pos + 4);
        if (hex.length === 2 && isHex(hex[0]) && isHex(hex[1])) return this.char(4, parseInt(hex, 16));
        return this.char(2, 0x78);
      }
      case "u": {
        const unit = this.hex4(this.pos + 2);
        if (unit === null) return this.char(2, 0x75);
        this.pos += 6;
        // `\uD83D\uDE00` names one astral character; treat it like the literal character (see the module note).
        if (isHighSurrogate(unit) && this.peek() === "\\" && this.peek(1) === "u") {
          const low = this.hex4(this.pos + 2);
          if (low !== null && isLowSurrogate(low)) {
            this.pos += 6;
            return { kind: "char", cp: 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00) };
          }
        }
        return { kind: "char", cp: unit };
      }
      default:
        break;
    }
    if (isOctal(c)) {
      // Legacy octal escape (Annex B): `\0` alone is NUL; up to three digits, value at most 0o377.
      const start = this.pos + 1;
      let end = start + 1;
      const maxDigits = c <= "3" ? 3 : 2;
      while (end - start < maxDigits && isOctal(this.src[end])) end++;
      const value = parseInt(this.src.slice(start, end), 8);
      this.pos = end;
      return { kind: "char", cp: value };
    }
    // Identity escape (includes `\8`, `\9`, `\p`, `\k` without named groups, `\-`, `\/` …).
    this.pos++;
    return { kind: "char", cp: this.readSourceCharacter() };
  }

  private hex4(at: number): number | null {
    const hex = this.src.slice(at, at + 4);
    return /^[0-9A-Fa-f]{4}$/.test(hex) ? parseInt(hex, 16) : null;
  }

  private char(length: number, cp: number): ClassAtom {
    this.pos += length;
    return { kind: "char", cp };
  }

  private classAtom(): ClassAtom {
    if (this.peek() === "\\") return this.escape(true);
    return { kind: "char", cp: this.readSourceCharacter() };
  }

  private characterClass(): string {
    this.pos++; // [
    const negated = this.peek() === "^";
    if (negated) this.pos++;
    const set: Range[] = [];
    const add = (atom: ClassAtom): void => {
      if (atom.kind === "char") set.push([atom.cp, atom.cp]);
      else set.push(...atom.set);
    };
    while (this.peek() !== "]") {
      if (this.peek() === undefined) throw new UnsupportedPattern("unterminated character class");
      const from = this.classAtom();
      if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== undefined) {
        this.pos++; // -
        const to = this.classAtom();
        if (from.kind === "char" && to.kind === "char") {
          set.push([from.cp, to.cp]);
        } else {
          // Annex B: a range with a class escape at either end is the two sets plus a literal "-".
          add(from);
          set.push([0x2d, 0x2d]);
          add(to);
        }
      } else {
        add(from);
      }
    }
    this.pos++; // ]
    return emitSet(negated ? complement(set) : set);
  }
}

/** Counts capturing groups (to tell backreferences from legacy octal escapes) and notes named ones. */
function scanGroups(src: string): { count: number; named: boolean } {
  let count = 0;
  let named = false;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "\\") {
      i++;
    } else if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
    } else if (c === "(") {
      if (src[i + 1] !== "?") count++;
      else if (src[i + 2] === "<" && src[i + 3] !== "=" && src[i + 3] !== "!") {
        count++;
        named = true;
      }
    }
  }
  return { count, named };
}

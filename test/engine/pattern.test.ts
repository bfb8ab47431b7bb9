import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_PATTERN_LENGTH, compilePattern } from "../../src/engine/pattern.js";

function matcher(source: string): (input: string) => boolean {
  const compiled = compilePattern(source);
  if (!compiled.ok) throw new Error(`expected ${JSON.stringify(source)} to compile: ${compiled.message}`);
  return (input) => compiled.test(input);
}

function failure(source: string): string {
  const compiled = compilePattern(source);
  if (compiled.ok) throw new Error(`expected ${JSON.stringify(source)} to be rejected`);
  return compiled.message;
}

describe("compilePattern: the worked examples", () => {
  it("W32: ^[A-Z]{3}-\\d{4}$", () => {
    const test = matcher("^[A-Z]{3}-\\d{4}$");
    expect(test("ABC-1234")).toBe(true);
    expect(test("AB-12")).toBe(false);
    expect(test("ABC-12345")).toBe(false);
    expect(test("abc-1234")).toBe(false);
  });

  it("W33: ^.+$", () => {
    const test = matcher("^.+$");
    expect(test("k1")).toBe(true);
    expect(test("")).toBe(false);
  });

  it("searches anywhere in the string unless anchored", () => {
    expect(matcher("b+")("aaabbbccc")).toBe(true);
    expect(matcher("^b+")("aaabbbccc")).toBe(false);
    expect(matcher("c$")("abc")).toBe(true);
    // `$` without the m flag is the end of the input only.
    expect(matcher("c$")("abc\n")).toBe(false);
    expect(matcher("^b")("a\nb")).toBe(false);
  });
});

describe("compilePattern: linear time", () => {
  it("(a+)+$ on a 50,000-character input returns", () => {
    const test = matcher("(a+)+$");
    expect(test(`${"a".repeat(50_000)}!`)).toBe(false);
    expect(test("a".repeat(50_000))).toBe(true);
  });

  it("other classic ReDoS patterns return", () => {
    const input = `${"a".repeat(30_000)}!`;
    for (const source of [
      "^(a|a)*$",
      "^(a|aa)+$",
      "^(.*a){12}$",
      "^(\\w+\\s?)*$",
      "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
    ]) {
      expect(matcher(source)(input), source).toBe(false);
    }
  });
});

describe("compilePattern: rejected patterns", () => {
  it("invalid ECMAScript expressions", () => {
    for (const source of ["(", "a**", "[b-a]", "?", "a{2,1}", "(?<n>a)(?<n>b)", "\\", "{1}", "(?<=a)+"]) {
      expect(failure(source), source).toMatch(/Invalid regular expression/);
    }
  });

  it("backreferences, named or numbered", () => {
    expect(failure("(a)\\1")).toMatch(/backreference/);
    expect(failure("\\1(a)")).toMatch(/backreference/);
    expect(failure("(?<x>a)\\k<x>")).toMatch(/named backreference/);
  });

  it("lookaheads", () => {
    expect(failure("a(?=b)")).toMatch(/lookahead "\(\?="/);
    expect(failure("a(?!b)")).toMatch(/lookahead "\(\?!"/);
  });

  it("patterns longer than the limit", () => {
    expect(failure("a".repeat(MAX_PATTERN_LENGTH + 1))).toMatch(/longer than 1000/);
    expect(compilePattern("a".repeat(MAX_PATTERN_LENGTH)).ok).toBe(true);
  });

  it("repetition counts RE2 cannot bound", () => {
    expect(failure("a{1001}")).toMatch(/repetition/);
    expect(failure("a{2,99999999999999999999}")).toMatch(/repetition/);
    expect(failure("((a{100}){100}){100}")).toMatch(/too large/);
  });

  it("patterns whose expanded automaton would make matching slow", () => {
    // Each is linear-time, but the work per input character grows with the automaton size.
    expect(failure(".{1000}.{1000}")).toMatch(/too large: with repetitions expanded it needs 2002 automaton units \(limit 1000\)/);
    expect(failure("(?:x{1000}|y{1000})")).toMatch(/too large/);
    expect(failure("(?:a{1,32}){1,31}")).toMatch(/too large/);
    expect(failure("(?<=.{100})x")).toMatch(/too large/);
    const ok = compilePattern(".{998}\\d");
    expect(ok.ok && ok.cost).toBe(1000);
    expect(ok.ok && ok.test(`${"ab ".repeat(30_000)}`)).toBe(false);
    const small = compilePattern("(?<=\\$)\\d+");
    expect(small.ok && small.cost).toBeLessThan(100);
  });
});

describe("compilePattern: ECMAScript meaning of constructs RE2 reads differently", () => {
  it("\\s is ECMAScript white space (includes \\v, NBSP, BOM, line separators)", () => {
    const test = matcher("^\\s$");
    for (const ws of ["\v", "\u00a0", "\ufeff", "\u2028", "\u3000", " ", "\t"]) expect(test(ws), JSON.stringify(ws)).toBe(true);
    expect(test("x")).toBe(false);
    expect(matcher("^\\S$")("\v")).toBe(false);
    expect(matcher("^[^\\s]$")("\u00a0")).toBe(false);
  });

  it(". excludes every line terminator", () => {
    const test = matcher("^.$");
    for (const lt of ["\n", "\r", "\u2028", "\u2029"]) expect(test(lt)).toBe(false);
    expect(test("x")).toBe(true);
  });

  it("Annex B escapes and literals", () => {
    expect(matcher("^\\p{L}$")("p{L}")).toBe(true); // \p is an identity escape without the u flag
    expect(matcher("^\\u{3}$")("uuu")).toBe(true); // \u without 4 hex digits is "u"
    expect(matcher("^\\1$")("\u0001")).toBe(true); // no groups: legacy octal
    expect(matcher("^\\8$")("8")).toBe(true);
    expect(matcher("^\\101$")("A")).toBe(true);
    expect(matcher("^\\cJ$")("\n")).toBe(true);
    expect(matcher("^\\c$")("\\c")).toBe(true);
    expect(matcher("^[\\c_]$")("\u001f")).toBe(true);
    expect(matcher("^[\\b]$")("\b")).toBe(true);
    expect(matcher("^a{$")("a{")).toBe(true);
    expect(matcher("^a{1,x}$")("a{1,x}")).toBe(true);
    expect(matcher("^]}$")("]}")).toBe(true);
    expect(matcher("^\\k$")("k")).toBe(true);
    expect(matcher("^[\\d-z]+$")("1-z")).toBe(true);
    expect(matcher("^[\\d-z]+$")("m")).toBe(false);
  });

  it("empty and full classes", () => {
    expect(matcher("[]")("anything")).toBe(false);
    expect(matcher("^[^]$")("\n")).toBe(true);
  });

  it("lookbehinds are supported (RE2 runs them in linear time)", () => {
    expect(matcher("(?<=\\$)\\d+")("cost: $42")).toBe(true);
    expect(matcher("(?<=\\$)\\d+")("cost: 42")).toBe(false);
    expect(matcher("(?<!\\$)\\b\\d+")("$42")).toBe(false);
    expect(matcher("(?<!\\$)\\b\\d+")("#42")).toBe(true);
  });

  it("named groups, lazy quantifiers and escapes of syntax characters", () => {
    expect(matcher("^(?<year>\\d{4})-(?<month>\\d{2})$")("2024-05")).toBe(true);
    expect(matcher("^a+?b*?$")("aab")).toBe(true);
    expect(matcher("^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/\\\\$")(".*+?()[]{}|^$/\\")).toBe(true);
  });
});

describe("compilePattern agrees with V8 on random patterns", () => {
  // Building blocks whose ECMAScript meaning the translator must reproduce; inputs use characters that exercise
  // them (word/non-word, white space, line terminators, digits, punctuation).
  const atoms = [
    "a",
    "b",
    "c",
    "1",
    ".",
    "\\d",
    "\\D",
    "\\w",
    "\\W",
    "\\s",
    "\\S",
    "\\.",
    "-",
    " ",
    "\\n",
    "\\v",
    "\\x41",
    "\\u00e9",
    "\\101",
    "\\0",
    "\\cA",
    "[a-c]",
    "[^a]",
    "[\\d.]",
    "[^\\s]",
    "[\\w-]",
    "[\\W\\d]",
    "[]",
    "[^]",
    "{",
    "}",
    "]",
    "\\k",
    "\\p",
    "é",
    "\\b",
    "\\B",
    "^",
    "$",
  ];
  const quantifiers = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?"];
  const quantifiable = (a: string): boolean => !["\\b", "\\B", "^", "$"].includes(a);
  const piece = fc.tuple(fc.constantFrom(...atoms), fc.constantFrom(...quantifiers)).map(([a, q]) => (quantifiable(a) ? a + q : a));
  const group = (inner: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .tuple(fc.constantFrom("(", "(?:", "(?<=", "(?<!"), inner, fc.constantFrom("", "*", "?", "{1,2}"))
      .map(([open, body, q]) => `${open}${body})${open.startsWith("(?<") ? "" : q}`);
  const alternation = (item: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .array(
        fc.array(item, { maxLength: 4 }).map((xs) => xs.join("")),
        { minLength: 1, maxLength: 3 },
      )
      .map((xs) => xs.join("|"));
  // Three levels of groups at most keeps patterns short enough to read when a counterexample shrinks.
  let level: fc.Arbitrary<string> = alternation(piece);
  for (let depth = 0; depth < 3; depth++) level = alternation(fc.oneof(piece, piece, group(level)));
  const pattern = level;
  const input = fc.string({
    unit: fc.constantFrom("a", "b", "c", "1", "A", ".", "-", " ", "\n", "\v", "\u00a0", "é", "\u0001", "\0", "{", "}", "]", "k", "p", "_"),
    maxLength: 10,
  });

  it("same answer as new RegExp(source).test(input)", () => {
    fc.assert(
      fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 5 }), (source, inputs) => {
        let native: RegExp;
        try {
          native = new RegExp(source);
        } catch {
          expect(compilePattern(source).ok).toBe(false);
          return;
        }
        const compiled = compilePattern(source);
        if (!compiled.ok) {
          // Only the constructs RE2 cannot run in linear time may be refused.
          expect(compiled.message).toMatch(/backreference|too complex|too large|repetition|longer than/);
          return;
        }
        for (const s of inputs) expect(compiled.test(s), `${source} on ${JSON.stringify(s)}`).toBe(native.test(s));
      }),
      { numRuns: Number(process.env.PATTERN_RUNS ?? 3000) },
    );
  }, 120_000);
});

/** Property tests: whatever the text and data, the engine answers with a well-formed response and never throws. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy, evaluatePolicy, runPolicy } from "../../src/engine/index.js";

const now = new Date("2025-09-16T00:00:00Z");

const TOKENS = [
  "A",
  "An",
  "The",
  "**u**",
  "**user.profile**",
  "__a__",
  "__first name__",
  "its",
  "of",
  "in",
  "the",
  "is",
  "greater",
  "than",
  "is greater than",
  "is equal to",
  "is in",
  "is not in",
  "contains",
  "contains all of",
  "is between",
  "is within",
  "is older than",
  "is a valid email",
  "has the format",
  "matches regex",
  "exists",
  "is empty",
  "is in the past",
  "1",
  "18",
  "-2",
  "3.5",
  '"s"',
  "'t'",
  '"^a+$"',
  "2024-01-05",
  "date(2024-02-29)",
  "30 days",
  "1 year",
  "true",
  "[1, 2]",
  '["a", "b"]',
  "if",
  "and",
  "or",
  "!and",
  "-or",
  "(",
  ")",
  ".",
  "§a",
  "$b.c",
  "passes",
  "fails",
  "->",
  "not",
  ":",
  "x",
  "x :=",
  "@x",
  "+",
  "-",
  "*",
  "/",
  "^",
  "plus",
  "power of",
  "length of",
  "sum of",
  "any",
  "all",
  "where",
  "looked up in",
  "round",
  "to",
  "places",
  "sqrt(4)",
  "max(1, 2)",
  "#c\n",
  "\n",
  "gets",
  "ok",
  "a.",
];

const policyText = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 40 }).map((t) => t.join(" "));

const validRule = fc
  .record({
    field: fc.constantFrom("a", "b", "first name"),
    op: fc.constantFrom("is greater than 1", 'is equal to "x"', "exists", 'is in [1, "x"]', 'contains "x"', "is within 2 days"),
    conn: fc.constantFrom("and", "or", "!and", "-or"),
    field2: fc.constantFrom("a", "b"),
    op2: fc.constantFrom("is less than 3", "is empty", "is not null", 'starts with "x"'),
  })
  .map((r) => `A **u** is ok if __${r.field}__ of **u** ${r.op} ${r.conn} __${r.field2}__ of **u** ${r.op2}.`);

function wellFormed(res: ReturnType<typeof runPolicy>): void {
  expect(typeof res.result).toBe("boolean");
  expect(Array.isArray(res.rule)).toBe(true);
  if (res.error !== null) {
    expect(res.error).toMatch(/^(Parse|Evaluation|Type) error: /);
    expect(res.result).toBe(false);
  }
  expect(Array.isArray(res.trace?.execution)).toBe(true);
  expect(res.labels === null || typeof res.labels === "object").toBe(true);
  expect(() => JSON.stringify(res)).not.toThrow();
}

describe("robustness", () => {
  it("random token soups never throw and give well-formed responses", () => {
    fc.assert(
      fc.property(policyText, fc.jsonValue(), (text, data) => {
        wellFormed(runPolicy(text, data, { now }));
      }),
      { numRuns: 1500 },
    );
  });

  it("valid rules evaluate deterministically against arbitrary data", () => {
    fc.assert(
      fc.property(validRule, fc.jsonValue(), fc.jsonValue(), (text, a, b) => {
        const compiled = compilePolicy(text);
        expect(compiled.error).toBeNull();
        const data = { u: { a, b, firstName: a } };
        const first = evaluatePolicy(compiled, data, { now });
        wellFormed(first);
        expect(first.error).toBeNull();
        expect(evaluatePolicy(compiled, data, { now })).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });
});

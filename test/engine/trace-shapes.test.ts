/** Exact wire shapes of docs/language.md#parse-error-trace, #the-response and W66 (deep equality, key order included). */
import { describe, expect, it } from "vitest";
import { runPolicy } from "../../src/engine/index.js";

const now = new Date("2025-09-16T00:00:00Z");
const RULE_10_8 = "A **Person** gets approved if __age__ of **Person** is greater than 18.";

const PARSE_ERROR_TRACE = {
  execution: [
    {
      label: "Parse Error",
      selector: { value: "parser", pos: { line: 1, start: 0, end: 21 } },
      outcome: { value: "parse_failed", pos: { line: 1, start: 0, end: 21 } },
      conditions: [
        {
          selector: { value: "rule_syntax" },
          property: { value: { error_type: "parse_error", failed_at_line: 1, rule_length: 1 }, path: "$.rule_syntax.line_1" },
          operator: "EqualTo",
          value: { value: "invalid", type: "string" },
          evaluation_details: {
            left_value: { value: "invalid_syntax", type: "parse_error" },
            right_value: { value: "valid_syntax", type: "expectation" },
            comparison_result: false,
          },
          result: false,
        },
      ],
      result: false,
    },
  ],
};

/** JSON text preserves key order, so comparing it checks order as well as content. */
function sameJson(a: unknown, b: unknown): void {
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
}

describe("comparison trace", () => {
  it("number found", () => {
    const res = runPolicy(RULE_10_8, { Person: { age: 25 } }, { now });
    sameJson(res.trace, {
      execution: [
        {
          selector: { value: "Person" },
          outcome: { value: "approved" },
          conditions: [
            {
              selector: { value: "Person" },
              property: { value: 25, path: "$.Person.age" },
              operator: "GreaterThan",
              value: { value: 18, type: "number" },
              evaluation_details: {
                left_value: { value: 25, type: "number" },
                right_value: { value: 18, type: "number" },
                comparison_result: true,
              },
              result: true,
            },
          ],
          result: true,
        },
      ],
    });
    sameJson(
      { result: res.result, rule: res.rule, data: res.data, error: res.error, labels: res.labels },
      { result: true, rule: [RULE_10_8], data: { Person: { age: 25 } }, error: null, labels: null },
    );
    expect(Object.keys(res)).toEqual(["result", "trace", "rule", "data", "error", "labels"]);
  });

  it("type mismatch and missing property", () => {
    const old = runPolicy(RULE_10_8, { Person: { age: "old" } }, { now });
    expect(old.trace?.execution[0]?.conditions[0]).toEqual({
      selector: { value: "Person" },
      property: { value: "old", path: "$.Person.age" },
      operator: "GreaterThan",
      value: { value: 18, type: "number" },
      evaluation_details: null,
      result: false,
    });
    const missing = runPolicy(RULE_10_8, { Person: {} }, { now });
    expect(missing.trace?.execution[0]?.conditions[0]).toMatchObject({
      property: { value: null, path: "$.Person.age" },
      evaluation_details: null,
      result: false,
    });
    const noRoot = runPolicy("A **user** is ok if __nonexistent_property__ of **nonexistent_selector** exists.", {}, { now });
    expect(noRoot.trace?.execution[0]?.conditions[0]?.property).toEqual({ value: null, path: "$.nonexistent_selector" });
  });

  it("the empty/null/existence operators report a null left value and an empty right operand", () => {
    const res = runPolicy("A **u** is ok if __email__ of **u** is null.", { u: {} }, { now });
    expect(res.trace?.execution[0]?.conditions[0]).toEqual({
      selector: { value: "u" },
      property: { value: null, path: "$.u.email" },
      operator: "IsNull",
      value: { value: "", type: "string" },
      evaluation_details: { left_value: { value: null, type: "null" }, right_value: { value: "", type: "string" }, comparison_result: true },
      result: true,
    });
  });

  it("right operands as written: data path, between, duration, length", () => {
    const path = runPolicy(
      "A **user** is valid if __age__ of **user** is greater than __min_age__ of **config**.",
      { user: { age: 25 }, config: { minAge: 18 } },
      { now },
    );
    expect(path.trace?.execution[0]?.conditions[0]?.value).toEqual({ value: "$.config.min_age", type: "string" });
    const between = runPolicy("A **user** is ok if __age__ of **user** is between 18 and 65.", { user: { age: 30 } }, { now });
    expect(between.trace?.execution[0]?.conditions[0]?.value).toEqual({ value: [18, 65], type: "list" });
    const within = runPolicy("A **user** is ok if __d__ of **user** is within 1 year.", { user: { d: "2025-01-01" } }, { now });
    expect(within.trace?.execution[0]?.conditions[0]?.value).toEqual({ value: "1 year", type: "duration" });
    const length = runPolicy("A **user** is ok if the length of __name__ of **user** is greater than 2.", { user: { name: "bob" } }, { now });
    expect(length.trace?.execution[0]?.conditions[0]?.property).toEqual({ value: 3, path: "$.user.name.length" });
  });
});

describe("parse-error trace and W66", () => {
  it("W66 full response", () => {
    const res = runPolicy("A **user** passes if.", {}, { now });
    sameJson(res, {
      result: false,
      trace: PARSE_ERROR_TRACE,
      rule: ["A **user** passes if."],
      data: {},
      error: "Parse error: --> 1:19 expected outcome text before 'if'",
      labels: null,
    });
  });

  it("golden-rule errors have no line: no pos, line_0, failed_at_line null", () => {
    const res = runPolicy("A **a** gets x if __v__ of **a** exists.\nA **a** gets y if __v__ of **a** exists.", {}, { now });
    const entry = res.trace?.execution[0];
    expect(entry?.selector).toEqual({ value: "parser" });
    expect(entry?.outcome).toEqual({ value: "parse_failed" });
    expect(entry?.conditions[0]?.property).toEqual({
      value: { error_type: "parse_error", failed_at_line: null, rule_length: 2 },
      path: "$.rule_syntax.line_0",
    });
  });

  it("points pos at the failing line", () => {
    const res = runPolicy("A **u** is ok if __a__ of **u** exists.\n\nA **u** is bad if __x__ of **u** is bigger than 1.", {}, { now });
    expect(res.error).toMatch(/^Parse error: --> 3:/);
    expect(res.trace?.execution[0]?.selector).toEqual({ value: "parser", pos: { line: 3, start: 0, end: 50 } });
  });
});

describe("partial trace on evaluation errors", () => {
  it("keeps earlier conditions and reports the failing one with a null property", () => {
    const res = runPolicy(
      "a. A **o** is ok if __n__ of **o** is greater than 1 and __a__ of **o** / __b__ of **o** is greater than 1 and __n__ of **o** exists.",
      { o: { n: 5, a: 1, b: 0 } },
      { now },
    );
    expect(res.error).toBe("Evaluation error: Division by zero");
    expect(res.labels).toEqual({ a: false });
    const entry = res.trace?.execution[0];
    expect(entry?.result).toBe(false);
    expect(entry?.conditions).toHaveLength(2);
    expect(entry?.conditions[0]?.result).toBe(true);
    expect(entry?.conditions[1]).toMatchObject({ property: { value: null }, evaluation_details: null, result: false });
  });
});

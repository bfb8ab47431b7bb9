/** Public API surface: compile once / evaluate many, helpers, introspection, limits and robustness. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_LIMITS,
  compilePolicy,
  evaluatePolicy,
  explainPolicy,
  listOperators,
  runPolicy,
  splitRuleLines,
  validatePolicy,
} from "../../src/engine/index.js";
import { generateParserSource, grammarSource } from "../../src/engine/grammar/build.js";
import { operatorFor } from "../../src/engine/operators.js";

const now = new Date("2025-09-16T00:00:00Z");

describe("grammar", () => {
  it("checked-in parser is generated from policy.peggy (run `npm run engine:grammar` if this fails)", () => {
    const checkedIn = readFileSync(new URL("../../src/engine/grammar/parser.generated.ts", import.meta.url), "utf8");
    expect(checkedIn === generateParserSource()).toBe(true);
  });
});

describe("compilePolicy / evaluatePolicy", () => {
  it("compiles once and evaluates many times with independent results", () => {
    const c = compilePolicy("A **Person** gets approved if __age__ of **Person** is greater than 18.");
    expect(c.error).toBeNull();
    expect(c.lines).toEqual(["A **Person** gets approved if __age__ of **Person** is greater than 18."]);
    expect(Object.isFrozen(c)).toBe(true);
    expect(evaluatePolicy(c, { Person: { age: 25 } }).result).toBe(true);
    expect(evaluatePolicy(c, { Person: { age: 5 } }).result).toBe(false);
    expect(evaluatePolicy(c, { Person: { age: 25 } }).result).toBe(true);
  });

  it("holds parse errors instead of throwing", () => {
    const c = compilePolicy("A **user** passes if.");
    expect(c.error).toBe("Parse error: --> 1:19 expected outcome text before 'if'");
    expect(c.errorLine).toBe(1);
    expect(c.errorColumn).toBe(19);
    const res = evaluatePolicy(c, {});
    expect(res.error).toBe(c.error);
    expect(res.labels).toBeNull();
  });

  it("reads today from the injected clock", () => {
    const rule = "A **x** is ok if __d__ of **x** is in the past.";
    expect(runPolicy(rule, { x: { d: "2025-09-15" } }, { now }).result).toBe(true);
    expect(runPolicy(rule, { x: { d: "2025-09-15" } }, { now: new Date("2025-09-01T00:00:00Z") }).result).toBe(false);
  });

  it("never throws on hostile or odd input", () => {
    const texts = ["", "#", ".", "A", "A **", "((((", "if -> .", "x := .", "§", "A **u** is ok if (((__a__ of **u** exists.", "\u0000\uffff"];
    for (const t of texts) {
      const res = runPolicy(t, { a: 1 }, { now });
      expect(res.result).toBe(false);
      expect(res.error).toMatch(/^Parse error: /);
    }
    for (const data of [null, 42, "x", [], [1, 2], { u: [1, 2] }]) {
      expect(() => runPolicy("A **u** is ok if __a__ of **u** exists.", data, { now })).not.toThrow();
    }
  });
});

describe("splitRuleLines", () => {
  it("answers the response fields of docs/language.md#the-response", () => {
    expect(splitRuleLines("")).toEqual([]);
    expect(splitRuleLines("a\r\nb\n")).toEqual(["a", "b"]);
    expect(splitRuleLines("a\n\nb")).toEqual(["a", "", "b"]);
    expect(splitRuleLines("\n")).toEqual([""]);
  });
});

describe("validatePolicy", () => {
  it("reports position of syntax errors", () => {
    expect(validatePolicy("A **u** is ok if __a__ of **u** exists.")).toEqual({ ok: true });
    const v = validatePolicy("A **u** is ok if __a__ of **u** is bigger than 1.");
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.message).toMatch(/^Parse error: --> 1:\d+ /);
      expect(v.line).toBe(1);
    }
    const g = validatePolicy("");
    expect(g).toEqual({ ok: false, message: "Parse error: No global rule found", line: null, column: null });
  });

  it("rejects semantic problems as parse errors", () => {
    for (const t of [
      'A **u** is ok if __a__ of **u** has format "nonsense".',
      'A **u** is ok if __a__ of **u** matches pattern "(".',
      "A **u** is ok if sqrt(1, 2) is equal to 1.",
      "A **u** is ok if __a__ of **u** is equal to 2024-02-30.",
      "a := 1.\na := 2.\nA **u** is ok if @a is equal to 1.",
      "a := @b.\nb := @a.\nA **u** is ok if @a is equal to 1.",
      "A **u** is ok if @nope is equal to 1.",
    ]) {
      expect(validatePolicy(t).ok, t).toBe(false);
    }
  });
});

describe("explainPolicy", () => {
  it("describes rules, conditions and references", () => {
    const x = explainPolicy(
      'total := **a** plus **b**.\nage.check. A **Person** gets adult if __age__ of **Person** is at least 18 and __tags__ of **Person** is in ["x", "y"].\nA **Person** is ok if §age.check passes and the **Person** gets adult.',
    );
    if ("error" in x) throw new Error(x.error);
    expect(x.ruleCount).toBe(2);
    expect(x.golden).toBe("ok");
    expect(x.computed).toEqual([{ name: "total", expression: "**a** plus **b**" }]);
    expect(x.referencedOutcomes).toEqual(["adult"]);
    expect(x.referencedLabels).toEqual(["age.check"]);
    const r0 = x.rules[0];
    expect(r0).toMatchObject({ label: "age.check", selector: "Person", outcome: "adult", verb: "gets", golden: false });
    expect(r0?.conditions[0]).toMatchObject({
      type: "comparison",
      operator: "GreaterThanOrEqual",
      selector: "Person",
      property: "age",
      value: { type: "number", value: 18 },
      connector: null,
    });
    expect(r0?.conditions[1]).toMatchObject({ operator: "In", value: { type: "list", value: ["x", "y"] }, connector: "and" });
    expect(x.rules[1]?.conditions).toMatchObject([
      { type: "reference", referenceKind: "label", ruleName: "age.check", resolvesTo: "adult" },
      { type: "reference", referenceKind: "outcome", selector: "Person", ruleName: "gets adult", resolvesTo: "adult" },
    ]);
  });

  it("returns the parse error", () => {
    expect(explainPolicy("nope")).toMatchObject({ error: expect.stringMatching(/^Parse error: /) as unknown });
  });
});

describe("listOperators", () => {
  it("lists every operator with its phrasings", () => {
    const ops = listOperators();
    const names = ops.map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("GreaterThanOrEqual");
    expect(names).toContain("IsNotValidMacAddress");
    expect(ops.length).toBe(30 + 40);
    expect(ops.find((o) => o.name === "IsValidPhone")?.phrases).toEqual(["is a valid phone number", "is a valid phone"]);
    expect(ops.find((o) => o.name === "EqualTo")?.shorthand).toEqual(["=="]);
  });

  it("every listed phrase parses in a rule", () => {
    for (const o of listOperators()) {
      for (const p of o.phrases) {
        const phrase = p.replace("is between … and …", "is between 1 and 2");
        const needsOperand = !/^(is (not )?(a valid|empty|null|in the)|exists|does not exist|is between)/.test(phrase);
        let operand = needsOperand ? ' "x"' : "";
        if (/within|older|younger/.test(phrase)) operand = " 2 days";
        const text = `A **u** is ok if __a__ of **u** ${phrase}${operand}.`;
        const v = validatePolicy(text.replace('has the format "x"', 'has the format "email"').replace('has format "x"', 'has format "email"'));
        expect(v, text).toEqual({ ok: true });
      }
    }
  });
});

describe("the operator table (src/engine/operator-table.ts)", () => {
  const operand = (phrase: string) => {
    if (/^(is (not )?(a valid|empty|null|in the)|exists|does not exist|is between)/.test(phrase)) return "";
    if (/within|older|younger/.test(phrase)) return " 2 days";
    if (/format/.test(phrase)) return ' "email"';
    return ' "x"';
  };
  const operatorOf = (text: string) => {
    const explained = explainPolicy(text);
    if ("error" in explained) throw new Error(`${text}: ${explained.error}`);
    return explained.rules[0]?.conditions[0]?.operator;
  };

  it("every phrasing and shorthand form the table lists parses to that operator, which has an implementation", () => {
    for (const o of listOperators()) {
      expect(operatorFor(o.name, { format: "email", pattern: { source: "x", test: () => true, cost: 1 } }), o.name).not.toBeNull();
      for (const p of o.phrases) {
        const phrase = p.replace("is between … and …", "is between 1 and 2");
        expect(operatorOf(`A **u** is ok if __a__ of **u** ${phrase}${operand(phrase)}.`), p).toBe(o.name);
      }
      for (const form of o.shorthand ?? []) {
        const condition = form === "between … and …" ? "between 1 and 2" : /^(exists|does not exist|is (not )?null)$/.test(form) ? form : `${form} 1`;
        expect(operatorOf(`if u.a ${condition} -> ok.`), form).toBe(o.name);
      }
    }
  });

  it("the parser names no operator the table does not have", () => {
    const names = new Set(listOperators().map((o) => o.name));
    const source = grammarSource();
    const formatRule = /\nFormat\n([\s\S]*?)\n\n/.exec(source)?.[1] ?? "";
    const operators = [...source.replace(formatRule, "").matchAll(/return (?:\{ op: )?"([A-Za-z]+)"(?! \+)/g)].map((m) => m[1]);
    const formats = [...formatRule.matchAll(/return "([A-Za-z0-9]+)"/g)].map((m) => m[1]);
    expect(operators.length).toBeGreaterThan(30);
    expect(formats.length).toBeGreaterThan(20);
    for (const op of operators) expect(names, op).toContain(op);
    for (const f of formats) expect([names.has(`IsValid${f}`), names.has(`IsNotValid${f}`)], f).toEqual([true, true]);
    expect(operatorFor("NoSuchOperator")).toBeNull();
  });
});

describe("limits", () => {
  it("exports sane defaults", () => {
    expect(DEFAULT_LIMITS.maxRuleTextLength).toBe(100_000);
    expect(DEFAULT_LIMITS.maxRules).toBe(500);
    expect(DEFAULT_LIMITS.maxConditions).toBe(5_000);
  });

  it("rejects oversized text, too many rules and conditions", () => {
    const big = "A **u** is ok if __a__ of **u** exists." + " ".repeat(DEFAULT_LIMITS.maxRuleTextLength);
    expect(compilePolicy(big).error).toMatch(/^Parse error: .*maxRuleTextLength/);
    const many = Array.from({ length: 501 }, (_, i) => `A **u** gets r${i} if __a__ of **u** exists.`).join("\n");
    expect(compilePolicy(many).error).toMatch(/^Parse error: .*maxRules/);
    const conds = "A **u** is ok if " + Array.from({ length: 5001 }, () => "**a** exists").join(" or ") + ".";
    expect(compilePolicy(conds).error).toMatch(/^Parse error: .*maxConditions/);
  });

  it("bounds nesting instead of overflowing the stack", () => {
    const deep = "A **u** is ok if " + "(".repeat(5000) + "__a__ of **u** exists" + ")".repeat(5000) + ".";
    expect(compilePolicy(deep).error).toMatch(/^Parse error: .*nesting/);
    const nots = "if " + "not ".repeat(20000) + "u.a -> ok.";
    expect(compilePolicy(nots).error).toMatch(/^Parse error: /);
    const pow = "A **u** is ok if 2" + " ^ 2".repeat(20000) + " is equal to 1.";
    expect(compilePolicy(pow).error).toMatch(/^Parse error: /);
  });

  it("rejects deep or large data and enforces the step budget", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = { a: deep };
    const res = runPolicy("A **u** is ok if __a__ of **u** exists.", { u: deep }, { now });
    expect(res.error).toMatch(/^Evaluation error: .*maxDataDepth/);
    const budget = runPolicy(
      "A **u** is ok if all __xs__ of **u** is greater than 0.",
      { u: { xs: Array.from({ length: 100 }, () => 1) } },
      { now, maxSteps: 50 },
    );
    expect(budget.error).toMatch(/^Evaluation error: .*maxSteps/);
  });
});

describe("key scans", () => {
  it("charges fuzzy scans over huge objects to the step budget", () => {
    const big: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) big["k" + String(i)] = i;
    const rule = "A **u** is ok if " + Array.from({ length: 200 }, (_, i) => `__missing ${i}__ of **u** exists`).join(" or ") + ".";
    const res = runPolicy(rule, { u: big }, { now, maxSteps: 10_000 });
    expect(res.error).toMatch(/^Evaluation error: .*maxSteps/);
    expect(runPolicy(rule, { u: { missing0: 1 } }, { now }).result).toBe(true);
  });
});

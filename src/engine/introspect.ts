/**
 * Read-only views of a policy for tooling: `explainPolicy` (rules, conditions as data, computed values,
 * references) and `listOperators` (the operator table of docs/language.md#operators with every accepted phrasing).
 */
import type { AccessAst, CondAst, CondItemAst, ExprAst, RuleAst } from "./ast.js";
import type { Program } from "./compile.js";
import { literalValue, writtenPath } from "./expressions.js";
import { BASE_OPERATOR_NAMES, FORMAT_NAMES_IN_TABLE, OPERATORS, type OperatorSpec, validatorsOf } from "./operator-table.js";
import { referencedOutcomes, resolveLabelRef, resolveOutcomeRef, visitConds } from "./references.js";
import { DurationValue, renderValue, typeTag } from "./values.js";

export interface ExplainedValue {
  type: string;
  value: unknown;
  amount?: number;
  unit?: string;
  seconds?: number;
}

export interface ExplainedCondition {
  index: number;
  type: "comparison" | "quantifier" | "group" | "reference";
  connector: "and" | "or" | null;
  optional: boolean;
  negated: boolean;
  operator?: string;
  quantifier?: "any" | "all";
  /** Rightmost link of the left side as written (the data's root), "" when the left side is not a data path. */
  selector?: string;
  /** The final property of the left side as written (first link). */
  property?: string;
  leftPath?: { selector: string; properties: string[] };
  /** The left side's data path as written (`$.user.age`), when it is a data path. */
  path?: string;
  /** Left operand source text. */
  left?: string;
  value?: ExplainedValue;
  value2?: ExplainedValue;
  referenceKind?: "label" | "outcome";
  ruleName?: string;
  /** Outcome key of the rule a reference resolves to (null when unresolved). */
  resolvesTo?: string | null;
  conditions?: ExplainedCondition[];
}

export interface ExplainedRule {
  index: number;
  label: string | null;
  selector: string;
  outcome: string;
  verb: string | null;
  style: "verbose" | "shorthand";
  golden: boolean;
  conditions: ExplainedCondition[];
}

export interface PolicyExplanation {
  ruleCount: number;
  golden: string;
  rules: ExplainedRule[];
  computed: { name: string; expression: string }[];
  referencedOutcomes: string[];
  referencedLabels: string[];
}

function explainValue(e: ExprAst): ExplainedValue {
  switch (e.kind) {
    case "num":
    case "str":
    case "bool":
    case "date":
      return { type: typeTag(literalValue(e)), value: renderValue(literalValue(e)) };
    case "dur": {
      const d = new DurationValue(e.amount, e.unit);
      return { type: "duration", value: d.rendered, amount: e.amount, unit: e.unit, seconds: d.seconds };
    }
    case "list":
      return { type: "list", value: renderValue(e.items.map(literalValue)) };
    case "access":
      return { type: "path", value: e.text };
    case "cref":
      return { type: "computed", value: "@" + e.name };
    default:
      return { type: "expression", value: e.text };
  }
}

function leftParts(a: AccessAst): Pick<ExplainedCondition, "selector" | "property" | "leftPath"> {
  const links = a.chains[0]?.links ?? [];
  if (links.length === 1 && links[0]?.marker === "path") {
    const segs = links[0].name.split(".");
    return {
      selector: segs[0] ?? "",
      property: segs[segs.length - 1] ?? "",
      leftPath: { selector: segs[0] ?? "", properties: segs.slice(1) },
    };
  }
  const last = links[links.length - 1];
  const selector = last ? (last.its ? "its" : last.name) : "";
  return {
    selector,
    property: links[0]?.name ?? "",
    leftPath: {
      selector,
      properties: links
        .slice(0, -1)
        .map((l) => l.name)
        .reverse(),
    },
  };
}

function explainCond(item: CondItemAst, index: number, rules: RuleAst[], self: number, negated = false): ExplainedCondition {
  const base = { index, connector: item.connector, optional: item.optional, negated };
  const c: CondAst = item.cond;
  switch (c.kind) {
    case "not":
      return explainCond({ ...item, cond: c.cond }, index, rules, self, !negated);
    case "group":
      return { ...base, type: "group", conditions: c.list.map((i, k) => explainCond(i, k, rules, self)) };
    case "label": {
      const t = resolveLabelRef(c.name, rules);
      return {
        ...base,
        negated: negated !== c.negated,
        type: "reference",
        referenceKind: "label",
        selector: "",
        ruleName: c.name,
        resolvesTo: t >= 0 ? (rules[t] as RuleAst).outcome : null,
      };
    }
    case "oref": {
      const t = resolveOutcomeRef(c.name, rules, self);
      return {
        ...base,
        type: "reference",
        referenceKind: "outcome",
        selector: c.selector,
        ruleName: c.name,
        resolvesTo: t >= 0 ? (rules[t] as RuleAst).outcome : null,
      };
    }
    case "block":
      return {
        ...base,
        type: "quantifier",
        quantifier: c.quant,
        ...leftParts(c.access),
        path: writtenPath(c.access),
        left: c.access.text,
        conditions: c.elems.map((i, k) => explainCond(i, k, rules, self)),
      };
    case "cmp": {
      const out: ExplainedCondition = {
        ...base,
        type: c.quant ? "quantifier" : "comparison",
        operator: c.pred.op,
        left: c.left.text,
      };
      if (c.quant) out.quantifier = c.quant;
      if (c.left.kind === "access") Object.assign(out, leftParts(c.left), { path: writtenPath(c.left) });
      else if (c.left.kind === "measure") Object.assign(out, leftParts(c.left.access));
      else out.selector = "";
      if (c.pred.op === "HasFormat" || c.pred.op === "MatchesPattern") {
        out.value = { type: "string", value: c.pred.text ?? "" };
      } else if (c.pred.right) {
        out.value = explainValue(c.pred.right);
      }
      if (c.pred.right2) out.value2 = explainValue(c.pred.right2);
      else if (c.pred.anchor) out.value2 = explainValue(c.pred.anchor);
      return out;
    }
  }
}

export function explainProgram(program: Program): PolicyExplanation {
  const rules = program.rules.map((r) => r.ast);
  const defs = program.ast.items.filter((i) => i.kind === "computed");
  const labels: string[] = [];
  for (const r of rules) {
    visitConds(r.conds, (c) => {
      if (c.kind === "label" && !labels.includes(c.name)) labels.push(c.name);
    });
  }
  return {
    ruleCount: rules.length,
    golden: (rules[program.golden] as RuleAst).outcome,
    rules: rules.map((r, i) => ({
      index: i,
      label: r.label,
      selector: r.selector,
      outcome: r.outcome,
      verb: r.verb,
      style: r.style,
      golden: i === program.golden,
      conditions: r.conds.map((c, k) => explainCond(c, k, rules, i)),
    })),
    computed: defs.map((d) => ({ name: d.name, expression: d.expr.text })),
    referencedOutcomes: [...referencedOutcomes(rules)],
    referencedLabels: labels,
  };
}

export interface OperatorInfo {
  name: string;
  phrases: string[];
  shorthand?: string[];
  description: string;
}

/** The operator table (operator-table.ts) as tooling reads it: the operators in the table's order, then each format's validator pair. */
export function listOperators(): OperatorInfo[] {
  const out: OperatorInfo[] = BASE_OPERATOR_NAMES.map((name) => {
    const spec: OperatorSpec = OPERATORS[name];
    return { name, phrases: [...spec.phrases], ...(spec.shorthand ? { shorthand: [...spec.shorthand] } : {}), description: spec.description };
  });
  for (const format of FORMAT_NAMES_IN_TABLE) {
    for (const { name, phrases, description } of validatorsOf(format)) out.push({ name, phrases, description });
  }
  return out;
}

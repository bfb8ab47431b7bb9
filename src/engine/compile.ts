/**
 * Text -> immutable program: parse (parser.ts), check computed values, select the golden rule, compile every rule
 * to closures and precompute the trace order (docs/language.md#trace-order). Everything that does not depend on the data is done here,
 * once per policy text.
 */
import type { ComputedDefAst, ExprAst, PolicyAst, RuleAst } from "./ast.js";
import { compileList, type CompiledItem, type CondScope } from "./conditions.js";
import { COST } from "./costs.js";
import { EngineError, parseError } from "./errors.js";
import { compileExpr, type CompiledExpr, type ExprScope } from "./expressions.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { parseText } from "./parser.js";
import { MAX_PATTERN_SIZE } from "./pattern.js";
import { selectGolden, type RuleInfo } from "./references.js";
import type { EngineLimits } from "./api.js";

export interface CompiledRule {
  readonly index: number;
  readonly label: string | null;
  readonly selector: string;
  readonly outcome: string;
  readonly items: readonly CompiledItem[];
  /** Resolved rule references in source order, descending into groups (docs/language.md#trace-order). */
  readonly refs: readonly number[];
  readonly selectorNamed: Readonly<{ value: string }>;
  readonly outcomeNamed: Readonly<{ value: string }>;
  /** JSON bytes of this rule's trace entry without its conditions, counted against maxAnswerBytes. */
  readonly entryBytes: number;
  readonly ast: RuleAst;
}

/** Automaton units of all distinct patterns of one policy: two of the largest single pattern (pattern.ts). */
export const MAX_POLICY_PATTERN_UNITS = 2 * MAX_PATTERN_SIZE;

export interface Program {
  readonly ast: PolicyAst;
  readonly rules: readonly CompiledRule[];
  readonly golden: number;
  /** Rule indices in trace order: golden first, then breadth-first through references. */
  readonly traceOrder: readonly number[];
  readonly computedNames: readonly string[];
  readonly computedExprs: readonly CompiledExpr[];
  readonly conditionCount: number;
}

function crefNames(e: ExprAst, out: string[]): void {
  switch (e.kind) {
    case "cref":
      out.push(e.name);
      return;
    case "bin":
      crefNames(e.l, out);
      crefNames(e.r, out);
      return;
    case "arith":
      crefNames(e.head, out);
      for (const r of e.rest) crefNames(r.e, out);
      return;
    case "neg":
      crefNames(e.e, out);
      return;
    case "fn":
      for (const a of e.args) crefNames(a, out);
      return;
    default:
      return;
  }
}

function checkComputed(defs: ComputedDefAst[]): Map<string, number> {
  const index = new Map<string, number>();
  defs.forEach((d, i) => {
    if (index.has(d.name)) throw parseError("computed value '" + d.name + "' is defined twice", d.loc.line, d.loc.column);
    index.set(d.name, i);
  });
  const state = new Uint8Array(defs.length); // 0 new, 1 visiting, 2 done
  const visit = (i: number, chain: string[]): void => {
    if (state[i] === 2) return;
    const d = defs[i] as ComputedDefAst;
    if (state[i] === 1) {
      throw parseError("circular computed values: " + [...chain, d.name].join(" -> "), d.loc.line, d.loc.column);
    }
    state[i] = 1;
    const names: string[] = [];
    crefNames(d.expr, names);
    for (const n of names) {
      const j = index.get(n);
      if (j === undefined) throw parseError("undefined computed value '@" + n + "'", d.loc.line, d.loc.column);
      visit(j, [...chain, d.name]);
    }
    state[i] = 2;
  };
  for (let i = 0; i < defs.length; i++) visit(i, []);
  return index;
}

export function compileProgram(text: string, limits: EngineLimits = DEFAULT_LIMITS): Program {
  if (text.length > limits.maxRuleTextLength) {
    throw parseError("policy text is " + String(text.length) + " characters, over the limit of " + String(limits.maxRuleTextLength) + " (maxRuleTextLength)");
  }
  const ast = parseText(text);
  const rulesAst: RuleAst[] = [];
  const defs: ComputedDefAst[] = [];
  for (const item of ast.items) {
    if (item.kind === "rule") rulesAst.push(item);
    else defs.push(item);
  }
  if (rulesAst.length > limits.maxRules) {
    throw parseError("policy has " + String(rulesAst.length) + " rules, over the limit of " + String(limits.maxRules) + " (maxRules)");
  }
  const computedIndex = checkComputed(defs);
  const golden = selectGolden(rulesAst);

  let conditions = 0;
  const countCondition = (): void => {
    if (++conditions > limits.maxConditions) {
      throw parseError("policy has more than " + String(limits.maxConditions) + " conditions (maxConditions)");
    }
  };
  let nodes = 0;
  const nodeLimit = limits.maxConditions * 20;
  const computedExprs: CompiledExpr[] = [];
  const computedCosts: number[] = [];
  const exprScope: ExprScope = {
    computedIndex: (n) => computedIndex.get(n),
    computedExprs,
    computedCosts,
    countNode: () => {
      if (++nodes > nodeLimit) throw parseError("policy has more than " + String(nodeLimit) + " expression nodes (maxConditions)");
    },
    nodesSoFar: () => nodes,
  };
  for (const d of defs) {
    const before = nodes;
    computedExprs.push(compileExpr(d.expr, exprScope));
    computedCosts.push((nodes - before) * COST.exprNode);
  }

  // Compiling a pattern costs time in proportion to its automaton (tens of ms for the largest one), so a policy's
  // distinct patterns are bounded together; a repeated pattern is compiled once (pattern.ts caches).
  const patterns = new Set<string>();
  let patternUnits = 0;
  const countPattern = (source: string, units: number): void => {
    if (patterns.has(source)) return;
    patterns.add(source);
    patternUnits += units;
    if (patternUnits > MAX_POLICY_PATTERN_UNITS) {
      throw parseError("the policy's patterns need more than " + String(MAX_POLICY_PATTERN_UNITS) + " automaton units together (maxPatternUnits)");
    }
  };
  const infos: RuleInfo[] = rulesAst.map((r) => ({ label: r.label, outcome: r.outcome }));
  const rules: CompiledRule[] = rulesAst.map((r, index) => {
    const scope: CondScope = { ...exprScope, rules: infos, self: index, refs: [], countCondition, countPattern };
    const items = compileList(r.conds, scope);
    return Object.freeze({
      index,
      label: r.label,
      selector: r.selector,
      outcome: r.outcome,
      items: Object.freeze(items),
      refs: Object.freeze(scope.refs),
      selectorNamed: Object.freeze({ value: r.selector }),
      outcomeNamed: Object.freeze({ value: r.outcome }),
      entryBytes: ruleEntryBytes(r.label, r.selector, r.outcome),
      ast: r,
    });
  });

  const seen = new Uint8Array(rules.length);
  const traceOrder: number[] = [golden];
  seen[golden] = 1;
  for (let i = 0; i < traceOrder.length; i++) {
    for (const t of (rules[traceOrder[i] as number] as CompiledRule).refs) {
      if (!seen[t]) {
        seen[t] = 1;
        traceOrder.push(t);
      }
    }
  }

  return Object.freeze({
    ast,
    rules: Object.freeze(rules),
    golden,
    traceOrder: Object.freeze(traceOrder),
    computedNames: Object.freeze(defs.map((d) => d.name)),
    computedExprs: Object.freeze(computedExprs),
    conditionCount: conditions,
  });
}

/** JSON bytes of a rule's trace entry without its conditions (README, "Bounded answers"). */
function ruleEntryBytes(label: string | null, selector: string, outcome: string): number {
  return JSON.stringify({ label, selector: { value: selector }, outcome: { value: outcome }, conditions: [], result: false }).length;
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

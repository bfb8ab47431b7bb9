/**
 * Compiles conditions (docs/language.md#operators, #combining-conditions, #outcome-references, #label-references) into closures that evaluate and append their trace entry
 * (#trace-entries). Static parts of every trace entry (selector, operator, right operand as written) are built and frozen
 * once here and shared by all evaluations.
 */
import type { ConditionTrace } from "./api.js";
import type { BlockAst, CmpAst, CondAst, CondItemAst, LabelRefAst, OutcomeRefAst } from "./ast.js";
import { parseError } from "./errors.js";
import { compileExpr, accessSelector, compileAccess, type CompiledExpr, type ExprScope } from "./expressions.js";
import { isFormatName } from "./formats.js";
import { COST } from "./costs.js";
import { KeyMatcher, segmentsOf } from "./keys.js";
import { operatorFor, type OpFn } from "./operators.js";
import { compilePattern } from "./pattern.js";
import { inferenceCandidates, inferredValue, resolveLabelRef, resolveOutcomeRef, type RuleInfo } from "./references.js";
import type { CondFn, Ctx, Elem } from "./runtime.js";
import { rawValue } from "./values.js";

export interface CompiledItem {
  fn: CondFn;
  and: boolean;
  optional: boolean;
  /** The entry reported for this condition when evaluation fails inside it (docs/language.md#partial-trace). */
  failEntry(): ConditionTrace;
}

export interface CondScope extends ExprScope {
  rules: readonly RuleInfo[];
  self: number;
  /** Rule indices referenced (resolved), in trace order (docs/language.md#trace-order). */
  refs: number[];
  countCondition(): void;
  /** Counts a pattern's automaton size once per distinct source (compile.ts bounds the total). */
  countPattern(source: string, units: number): void;
}

const EMPTY_VALUE = Object.freeze({ value: "", type: "string" });
const EMPTY_SELECTOR = Object.freeze({ value: "" });

function named(value: string): Readonly<{ value: string }> {
  return Object.freeze({ value });
}

/** Runs a condition list with `and` before `or` and optional connectors (docs/language.md#and-and-or, #optional-conditions). */
export function evalList(items: readonly CompiledItem[], ctx: Ctx, out: ConditionTrace[], el: Elem | null): boolean {
  let anyGroup = false;
  let cur = true;
  const n = items.length;
  for (let i = 0; i < n; i++) {
    const it = items[i] as CompiledItem;
    const r = it.fn(ctx, out, el);
    if (it.optional) {
      (out[out.length - 1] as ConditionTrace).optional = true;
      if (!r) continue;
    }
    if (i === 0) cur = r;
    else if (it.and) cur = cur && r;
    else {
      anyGroup = anyGroup || cur;
      cur = r;
    }
  }
  return anyGroup || cur;
}

export function compileList(list: CondItemAst[], scope: CondScope, inBlock = false): CompiledItem[] {
  return list.map((item) => {
    const c = compileCond(item.cond, scope, inBlock);
    const optional = item.optional;
    return {
      fn: c.fn,
      and: item.connector === "and",
      optional,
      failEntry: () => {
        const e = c.failEntry();
        if (optional) e.optional = true;
        return e;
      },
    };
  });
}

/** JSON bytes of the fixed parts of entries whose size does not depend on the policy text. */
const GROUP_ENTRY_BYTES = 32;
const ELEMENT_ENTRY_BYTES = 48;
const REFERENCE_ENTRY_BYTES = 96;

/** JSON bytes of an entry's static parts (selector, operator, right operand as written), measured once. */
function staticBytes(entry: unknown): number {
  return JSON.stringify(entry).length;
}

interface CompiledCond {
  fn: CondFn;
  failEntry(): ConditionTrace;
}

function compileCond(c: CondAst, scope: CondScope, inBlock: boolean): CompiledCond {
  scope.countCondition();
  switch (c.kind) {
    case "cmp":
      return compileComparison(c, scope);
    case "block":
      return compileBlock(c, scope);
    case "group": {
      const items = compileList(c.list, scope, inBlock);
      return {
        fn: (ctx, out, el) => {
          const inner: ConditionTrace[] = [];
          const result = evalList(items, ctx, inner, el);
          ctx.addAnswer(GROUP_ENTRY_BYTES);
          out.push({ group: inner, result });
          return result;
        },
        failEntry: () => ({ group: [], result: false }),
      };
    }
    case "not": {
      const inner = compileCond(c.cond, scope, inBlock);
      return {
        fn: (ctx, out, el) => {
          const r = !inner.fn(ctx, out, el);
          const e = out[out.length - 1] as ConditionTrace;
          e.result = r;
          e.negated = true;
          return r;
        },
        failEntry: () => ({ ...inner.failEntry(), negated: true }),
      };
    }
    case "label":
      if (inBlock) throw parseError("label references are not allowed inside where/satisfies blocks");
      return compileLabelRef(c, scope);
    case "oref":
      if (inBlock) throw parseError("rule references are not allowed inside where/satisfies blocks");
      return compileOutcomeRef(c, scope);
  }
}

// ---------------------------------------------------------------------------------------------------------

interface PredicateParts {
  op: OpFn;
  right: CompiledExpr | null;
  right2: CompiledExpr | null;
  written: { value: unknown; type: string };
}

function compilePredicate(ast: CmpAst, scope: CondScope): PredicateParts {
  const p = ast.pred;
  const right = p.right ? compileExpr(p.right, scope) : null;
  let right2: CompiledExpr | null = null;
  let written: { value: unknown; type: string } = right ? right.written : EMPTY_VALUE;
  let op: OpFn | null;
  if (p.op === "HasFormat") {
    const name = p.text ?? "";
    if (!isFormatName(name)) throw parseError("unknown format '" + name + "'", p.loc?.line ?? null, p.loc?.column ?? null);
    op = operatorFor(p.op, { format: name });
    written = Object.freeze({ value: name, type: "string" });
  } else if (p.op === "MatchesPattern") {
    const src = p.text ?? "";
    const pat = compilePattern(src);
    if (!pat.ok) {
      throw parseError("invalid regular expression '" + src + "': " + pat.message, p.loc?.line ?? null, p.loc?.column ?? null);
    }
    scope.countPattern(src, pat.cost);
    op = operatorFor(p.op, { pattern: { source: src, test: (s) => pat.test(s), cost: pat.cost } });
    written = Object.freeze({ value: src, type: "string" });
  } else {
    if (p.op === "IsBetween" && p.right2) {
      right2 = compileExpr(p.right2, scope);
      written = Object.freeze({ value: Object.freeze([right?.written.value, right2.written.value]), type: "list" });
    } else if (p.anchor) {
      right2 = compileExpr(p.anchor, scope);
    }
    op = operatorFor(p.op, { hasAnchor: p.anchor !== undefined && p.anchor !== null, shorthand: ast.shorthand });
  }
  if (!op) throw parseError("unknown operator " + p.op);
  return { op, right, right2, written };
}

function compileComparison(ast: CmpAst, scope: CondScope): CompiledCond {
  const nodesBefore = scope.nodesSoFar();
  const left = compileExpr(ast.left, scope);
  const { op, right, right2, written } = compilePredicate(ast, scope);
  // A condition costs one step plus its expression nodes; what its operator touches is charged by the operator.
  const cost = COST.step + (scope.nodesSoFar() - nodesBefore) * COST.exprNode;
  const selector = named(ast.left.kind === "access" ? accessSelector(ast.left) : "");
  const operator = ast.pred.op;
  const leftDynamic = left.dynamicPath;
  const leftText = left.text;
  const leftFn = left.fn;
  const rightFn = right ? right.fn : null;
  const right2Fn = right2 ? right2.fn : null;
  const staticPath = ast.left.kind === "access" && left.written.type === "string" ? String(left.written.value) : leftText;
  // Without the values, which `compare` adds by their own size ("value": keys included).
  const entryBytes =
    staticBytes({
      selector,
      property: { path: "" },
      operator,
      value: written,
      evaluation_details: { left_value: { type: "number" }, right_value: { type: "number" }, comparison_result: false },
      result: false,
    }) + 27;

  /** `steps`: the condition's own cost (charged with its entry, in one call) or the element's step. */
  const compare = (ctx: Ctx, steps: number, l: unknown, path: string, r: unknown, r2: unknown): ConditionTrace => {
    // The entry repeats the left value twice (property and left_value) and the right operands once; counted (and
    // their copying charged) before the operator runs.
    const lb = typeof l === "number" ? 8 : ctx.valueBytes(l);
    const rb = typeof r === "number" ? 8 : ctx.valueBytes(r);
    ctx.entry(steps, entryBytes + path.length + 2 * lb + rb + (r2 === undefined ? 0 : ctx.valueBytes(r2)));
    const res = op(ctx, l, r, r2);
    return {
      selector,
      property: { value: rawValue(l), path },
      operator,
      value: written,
      evaluation_details: res === null ? null : { left_value: ctx.dl, right_value: ctx.dr, comparison_result: res },
      result: res === true,
    };
  };

  if (ast.quant === null) {
    return {
      fn: (ctx, out, el) => {
        const l = leftFn(ctx, el);
        const path = leftDynamic ? ctx.path : leftText;
        const r = rightFn === null ? undefined : rightFn(ctx, el);
        const r2 = right2Fn === null ? undefined : right2Fn(ctx, el);
        const entry = compare(ctx, cost, l, path, r, r2);
        out.push(entry);
        return entry.result as boolean;
      },
      failEntry: () => ({
        selector,
        property: { value: null, path: staticPath },
        operator,
        value: written,
        evaluation_details: null,
        result: false,
      }),
    };
  }

  const quantifier = ast.quant;
  const isAll = quantifier === "all";
  return {
    fn: (ctx, out, el) => {
      ctx.charge(cost);
      const coll = leftFn(ctx, el);
      const path = leftDynamic ? ctx.path : leftText;
      const r = rightFn === null ? undefined : rightFn(ctx, el);
      const r2 = right2Fn === null ? undefined : right2Fn(ctx, el);
      const elements: { index: number; conditions: ConditionTrace[]; result: boolean }[] = [];
      let result = false;
      ctx.addAnswer(entryBytes + path.length + ctx.valueBytes(coll));
      if (Array.isArray(coll)) {
        let some = false;
        let every = true;
        for (let i = 0; i < coll.length; i++) {
          ctx.addAnswer(ELEMENT_ENTRY_BYTES);
          const entry = compare(ctx, COST.step, coll[i], path + "[" + String(i) + "]", r, r2);
          const ok = entry.result as boolean;
          some = some || ok;
          every = every && ok;
          elements.push({ index: i, conditions: [entry], result: ok });
        }
        result = isAll ? every : some;
      }
      out.push({ quantifier, selector, property: { value: rawValue(coll), path }, elements, result });
      return result;
    },
    failEntry: () => ({ quantifier, selector, property: { value: null, path: staticPath }, elements: [], result: false }),
  };
}

function compileBlock(ast: BlockAst, scope: CondScope): CompiledCond {
  const read = compileAccess(ast.access);
  const items = compileList(ast.elems, scope, true);
  const quantifier = ast.quant;
  const isAll = quantifier === "all";
  const selector = named(accessSelector(ast.access));
  const staticPath = ast.access.text;
  const entryBytes = staticBytes({ quantifier, selector, property: { value: null, path: "" }, elements: [], result: false });
  return {
    fn: (ctx, out, el) => {
      ctx.step();
      const coll = read(ctx, el);
      const path = ctx.path;
      const elements: { index: number; conditions: ConditionTrace[]; result: boolean }[] = [];
      let result = false;
      ctx.addAnswer(entryBytes + path.length + ctx.valueBytes(coll));
      if (Array.isArray(coll)) {
        let some = false;
        let every = true;
        for (let i = 0; i < coll.length; i++) {
          ctx.step();
          ctx.addAnswer(ELEMENT_ENTRY_BYTES + path.length);
          const conditions: ConditionTrace[] = [];
          const ok = evalList(items, ctx, conditions, { value: coll[i], path: path + "[" + String(i) + "]" });
          some = some || ok;
          every = every && ok;
          elements.push({ index: i, conditions, result: ok });
        }
        result = isAll ? every : some;
      }
      out.push({ quantifier, selector, property: { value: rawValue(coll), path }, elements, result });
      return result;
    },
    failEntry: () => ({ quantifier, selector, property: { value: null, path: staticPath }, elements: [], result: false }),
  };
}

// ---------------------------------------------------------------------------------------------------------

function compileLabelRef(ast: LabelRefAst, scope: CondScope): CompiledCond {
  const target = resolveLabelRef(ast.name, scope.rules);
  const ruleName = ast.name;
  const negated = ast.negated;
  if (target >= 0) scope.refs.push(target);
  const outcome = target >= 0 ? (scope.rules[target] as RuleInfo).outcome : "";
  const fail = (): ConditionTrace => ({ selector: EMPTY_SELECTOR, rule_name: ruleName, result: false });
  const entryBytes = REFERENCE_ENTRY_BYTES + 2 * ruleName.length + outcome.length;
  if (target < 0) {
    return {
      fn: (ctx, out) => {
        ctx.entry(COST.step, entryBytes);
        const e: ConditionTrace = { selector: EMPTY_SELECTOR, rule_name: ruleName, result: false };
        if (negated) e.negated = true;
        out.push(e);
        return false;
      },
      failEntry: fail,
    };
  }
  return {
    fn: (ctx, out) => {
      ctx.entry(COST.step, entryBytes);
      const v = ctx.runtime.evalRule(ctx, target);
      const result = negated ? !v : v;
      const e: ConditionTrace = { selector: EMPTY_SELECTOR, rule_name: ruleName, referenced_rule_outcome: outcome, result };
      if (negated) e.negated = true;
      out.push(e);
      return result;
    },
    failEntry: fail,
  };
}

function compileOutcomeRef(ast: OutcomeRefAst, scope: CondScope): CompiledCond {
  const target = resolveOutcomeRef(ast.name, scope.rules, scope.self);
  const selector = named(ast.selector);
  const ruleName = ast.name;
  const fail = (): ConditionTrace => ({ selector, rule_name: ruleName, result: false });
  const entryBytes = REFERENCE_ENTRY_BYTES + 2 * ruleName.length + ast.selector.length;
  if (target >= 0) {
    scope.refs.push(target);
    const outcome = (scope.rules[target] as RuleInfo).outcome;
    return {
      fn: (ctx, out) => {
        ctx.entry(COST.step, entryBytes + outcome.length);
        const result = ctx.runtime.evalRule(ctx, target);
        out.push({ selector, rule_name: ruleName, referenced_rule_outcome: outcome, result });
        return result;
      },
      failEntry: fail,
    };
  }
  const subject = segmentsOf(ast.selector).map((s) => new KeyMatcher(s));
  const candidates = inferenceCandidates(ast.name);
  return {
    fn: (ctx, out) => {
      ctx.entry(COST.step, entryBytes);
      let obj: unknown = ctx.data;
      for (const m of subject) {
        if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
          obj = undefined;
          break;
        }
        const k = m.find(obj, ctx);
        obj = k === undefined ? undefined : (obj as Record<string, unknown>)[k];
      }
      if (obj !== null && typeof obj === "object" && !Array.isArray(obj)) {
        for (const cand of candidates) {
          const k = cand.find(obj, ctx);
          if (k === undefined) continue;
          const value = (obj as Record<string, unknown>)[k];
          ctx.addAnswer(k.length + ctx.valueBytes(value));
          const { result, rendered } = inferredValue(value);
          out.push({ selector, rule_name: ruleName, property_check: { property_name: k, property_value: rendered }, result });
          return result;
        }
      }
      out.push({ selector, rule_name: ruleName, result: true });
      return true;
    },
    failEntry: fail,
  };
}

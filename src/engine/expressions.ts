/**
 * Compiles expressions and data access (docs/language.md#reading-data, #computing-values) into closures.
 *
 * Reading conventions: `undefined` is "missing", JSON `null` is null; closures that read data also write the
 * property path (docs/language.md#property-paths) to `ctx.path`.
 */
import type { AccessAst, ChainAst, ExprAst, LiteralAst } from "./ast.js";
import { evaluationError, parseError, typeError } from "./errors.js";
import { COST } from "./costs.js";
import { KeyMatcher, segmentsOf } from "./keys.js";
import { NOT_COMPUTED, type Ctx, type Elem, type ExprFn } from "./runtime.js";
import { DateValue, DurationValue, jsonText, numericValue, renderValue, typeTag } from "./values.js";

export interface CompiledExpr {
  fn: ExprFn;
  /** True when `fn` writes `ctx.path` (data access, measures, `@name`). */
  dynamicPath: boolean;
  /** Path for the trace when `dynamicPath` is false: the source text (docs/language.md#property-paths). */
  text: string;
  /** The right operand as written (docs/language.md#rendered-values). */
  written: { value: unknown; type: string };
  /** Constant value for literals (used by `explainPolicy` and to skip evaluation). */
  literal?: unknown;
  isLiteral: boolean;
  ast: ExprAst;
}

export interface ExprScope {
  /** Index of a computed value by name, or undefined when unknown. */
  computedIndex(name: string): number | undefined;
  computedExprs: CompiledExpr[];
  /** Steps charged when a computed value is evaluated (its expression nodes), by index. */
  computedCosts: number[];
  /** Counts compiled nodes for the complexity limit. */
  countNode(): void;
  /** Nodes compiled so far: the difference around a compilation is what evaluating it costs. */
  nodesSoFar(): number;
}

export function literalValue(l: LiteralAst): unknown {
  switch (l.kind) {
    case "num":
    case "str":
    case "bool":
      return l.value;
    case "date":
      return new DateValue(l.value, l.day);
    case "dur":
      return new DurationValue(l.amount, l.unit);
  }
}

function frozenTyped(v: unknown): { value: unknown; type: string } {
  const value = renderValue(v);
  return Object.freeze({ value: Array.isArray(value) ? Object.freeze(value) : value, type: typeTag(v) });
}

// ---------------------------------------------------------------------------------------------------------
// Data access

interface CompiledChain {
  its: boolean;
  matchers: KeyMatcher[];
  written: string[];
}

function compileChain(chain: ChainAst): CompiledChain {
  const links = chain.links.slice().reverse();
  const its = links[0]?.its === true;
  const written: string[] = [];
  for (const l of links) written.push(...segmentsOf(l.name));
  return { its, matchers: written.map((w) => new KeyMatcher(w)), written };
}

function readChain(c: CompiledChain, ctx: Ctx, el: Elem | null): unknown {
  let cur: unknown;
  let path: string;
  if (c.its) {
    if (el === null) {
      ctx.path = "its." + c.written.join(".");
      return undefined;
    }
    cur = el.value;
    path = el.path;
  } else {
    cur = ctx.data;
    path = "$";
  }
  const n = c.matchers.length;
  for (let i = 0; i < n; i++) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) {
      ctx.path = path + "." + (c.written[i] as string);
      return undefined;
    }
    const key = (c.matchers[i] as KeyMatcher).find(cur, ctx);
    if (key === undefined) {
      ctx.path = path + "." + (c.written[i] as string);
      return undefined;
    }
    path = path + "." + key;
    cur = (cur as Record<string, unknown>)[key];
  }
  ctx.path = path;
  return cur;
}

function lookupKey(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  return undefined;
}

/** Dynamic lookup (docs/language.md#lookups): `left` used as exact key(s) into `target`. */
function lookup(left: unknown, target: unknown, targetPath: string, ctx: Ctx): unknown {
  const isObj = target !== null && typeof target === "object" && !Array.isArray(target);
  if (Array.isArray(left)) {
    ctx.charge(left.length * COST.element);
    const keys: string[] = [];
    const out: unknown[] = [];
    let found = false;
    for (const x of left) {
      const k = lookupKey(x);
      if (k === undefined) continue;
      keys.push(k);
      if (isObj && Object.hasOwn(target, k)) {
        found = true;
        const v = (target as Record<string, unknown>)[k];
        if (Array.isArray(v)) out.push(...(v as unknown[]));
        else out.push(v);
      }
    }
    ctx.path = targetPath + "[" + keys.join(",") + "]";
    return found ? out : undefined;
  }
  const k = lookupKey(left);
  ctx.path = targetPath + "[" + (k ?? "") + "]";
  if (k === undefined || !isObj || !Object.hasOwn(target, k)) return undefined;
  return (target as Record<string, unknown>)[k];
}

export function compileAccess(a: AccessAst): ExprFn {
  const chains = a.chains.map(compileChain);
  const first = chains[0] as CompiledChain;
  if (chains.length === 1) return (ctx, el) => readChain(first, ctx, el);
  const rest = chains.slice(1);
  return (ctx, el) => {
    let v = readChain(first, ctx, el);
    for (const c of rest) {
      const left = v;
      const target = readChain(c, ctx, el);
      v = left === undefined || left === null ? undefined : lookup(left, target, ctx.path, ctx);
    }
    return v;
  };
}

/** `$.path` with the names as written (docs/language.md#rendered-values), for data paths used as right operands. */
export function writtenPath(a: AccessAst): string {
  if (a.chains.length !== 1) return a.text;
  const c = compileChain(a.chains[0] as ChainAst);
  return (c.its ? "its." : "$.") + c.written.join(".");
}

/** Selector of a comparison trace: the rightmost link's name as written (docs/language.md#trace-entries). */
export function accessSelector(a: AccessAst): string {
  const links = a.chains[0]?.links ?? [];
  const last = links[links.length - 1];
  if (!last) return "";
  if (last.its) return "its";
  if (last.marker === "path") return last.name.split(".")[0] ?? "";
  return last.name;
}

// ---------------------------------------------------------------------------------------------------------
// Measures and aggregates

const MEASURE_SUFFIX: Record<string, string> = {
  length: "length",
  number: "number",
  sum: "sum",
  average: "average",
  avg: "average",
  mean: "average",
  min: "min",
  minimum: "min",
  smallest: "min",
  max: "max",
  maximum: "max",
  largest: "max",
};

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
    else {
      n++;
      i++;
    }
  }
  return n;
}

function aggregate(name: string, kind: string, v: unknown, ctx: Ctx): unknown {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(name + " of requires a list, got " + jsonText(v));
  ctx.charge(v.length * COST.element);
  const nums: number[] = [];
  for (const x of v) {
    // Numeric strings are trimmed and matched: charged by their length.
    if (typeof x === "string") ctx.charge(x.length / COST.charsPerStep);
    const n = typeof x === "number" ? x : typeof x === "string" ? numericValue(x) : NaN;
    if (Number.isNaN(n)) throw typeError(name + " of requires numbers, got " + jsonText(x));
    nums.push(n);
  }
  if (kind === "sum") return nums.reduce((a, b) => a + b, 0);
  if (nums.length === 0) return undefined;
  if (kind === "average") return nums.reduce((a, b) => a + b, 0) / nums.length;
  if (kind === "min") return Math.min(...nums);
  return Math.max(...nums);
}

function compileMeasure(measure: string, access: AccessAst): ExprFn {
  const read = compileAccess(access);
  const kind = MEASURE_SUFFIX[measure] ?? measure;
  const suffix = "." + kind;
  return (ctx, el) => {
    const v = read(ctx, el);
    ctx.path = ctx.path + suffix;
    if (v === undefined) return undefined;
    if (kind === "length") {
      if (v === null) return 0;
      if (typeof v === "string") {
        ctx.charge(v.length / COST.charsPerStep);
        return codePointLength(v);
      }
      if (Array.isArray(v)) return v.length;
      if (typeof v === "object") {
        const keys = Object.keys(v);
        ctx.charge(keys.length * COST.element);
        return keys.length;
      }
      throw evaluationError("Cannot calculate length of " + jsonText(v));
    }
    if (kind === "number") {
      if (v === null) return 0;
      if (Array.isArray(v)) return v.length;
      throw evaluationError("Cannot calculate number of " + jsonText(v) + " for non array");
    }
    return aggregate(measure, kind, v, ctx);
  };
}

// ---------------------------------------------------------------------------------------------------------
// Arithmetic

/** Number of an arithmetic operand; undefined when missing/null (the expression then has no value). */
function operand(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") {
    const n = numericValue(v);
    if (!Number.isNaN(n)) return n;
  }
  throw typeError("Arithmetic requires numbers, got " + jsonText(v));
}

function finite(n: number): number {
  if (!Number.isFinite(n)) throw evaluationError("Invalid arithmetic result");
  return n;
}

function roundTo(x: number, places: number): number {
  const f = 10 ** places;
  return (Math.sign(x) * Math.floor(Math.abs(x) * f + 0.5)) / f;
}

function binaryOp(op: string, a: number, b: number): number {
  switch (op) {
    case "+":
      return finite(a + b);
    case "-":
      return finite(a - b);
    case "*":
      return finite(a * b);
    case "/":
      if (b === 0) throw evaluationError("Division by zero");
      return finite(a / b);
    case "%":
      if (b === 0) throw evaluationError("Division by zero");
      return finite(a % b);
    default:
      return finite(a ** b);
  }
}

function applyFn(name: string, args: number[]): number {
  const x = args[0] as number;
  switch (name) {
    case "sqrt":
      if (x < 0) throw evaluationError("Square root of a negative number");
      return Math.sqrt(x);
    case "min":
      return Math.min(...args);
    case "max":
      return Math.max(...args);
    case "clamp":
      return Math.min(Math.max(x, args[1] as number), args[2] as number);
    case "floor":
      return Math.floor(x);
    case "ceil":
    case "ceiling":
      return Math.ceil(x);
    case "round":
      return roundTo(x, args.length > 1 ? (args[1] as number) : 0);
    default:
      return Math.abs(x);
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Deepest expression nesting accepted; evaluation recurses once per level. */
export const MAX_EXPRESSION_DEPTH = 200;

export function compileExpr(e: ExprAst, scope: ExprScope, depth = 0): CompiledExpr {
  scope.countNode();
  if (depth > MAX_EXPRESSION_DEPTH) {
    throw parseError("expression nested deeper than " + String(MAX_EXPRESSION_DEPTH) + " levels");
  }
  const d = depth + 1;
  const base = { text: e.text, ast: e, isLiteral: false };
  switch (e.kind) {
    case "num":
    case "str":
    case "bool":
    case "date":
    case "dur": {
      const v = literalValue(e);
      return { ...base, fn: () => v, dynamicPath: false, written: frozenTyped(v), literal: v, isLiteral: true };
    }
    case "list": {
      const v = Object.freeze(e.items.map(literalValue));
      return { ...base, fn: () => v, dynamicPath: false, written: frozenTyped(v), literal: v, isLiteral: true };
    }
    case "access": {
      const fn = compileAccess(e);
      return { ...base, fn, dynamicPath: true, written: Object.freeze({ value: writtenPath(e), type: "string" }) };
    }
    case "cref": {
      const idx = scope.computedIndex(e.name);
      if (idx === undefined) {
        throw parseError("undefined computed value '@" + e.name + "'", e.loc.line, e.loc.column);
      }
      const path = "@" + e.name;
      const exprs = scope.computedExprs;
      const costs = scope.computedCosts;
      const fn: ExprFn = (ctx) => {
        let v = ctx.computed[idx];
        if (v === NOT_COMPUTED) {
          ctx.charge(costs[idx] as number);
          const c = exprs[idx] as CompiledExpr;
          v = c.fn(ctx, null);
          ctx.computed[idx] = v;
        }
        ctx.path = path;
        return v;
      };
      return { ...base, fn, dynamicPath: true, written: Object.freeze({ value: path, type: "string" }) };
    }
    case "measure": {
      const fn = compileMeasure(e.measure, e.access);
      return { ...base, fn, dynamicPath: true, written: Object.freeze({ value: e.text, type: "string" }) };
    }
    case "neg": {
      const inner = compileExpr(e.e, scope, d).fn;
      const fn: ExprFn = (ctx, el) => {
        const a = operand(inner(ctx, el));
        return a === undefined ? undefined : -a;
      };
      return { ...base, fn, dynamicPath: false, written: Object.freeze({ value: e.text, type: "string" }) };
    }
    case "bin": {
      const l = compileExpr(e.l, scope, d).fn;
      const r = compileExpr(e.r, scope, d).fn;
      const op = e.op.op;
      const fn: ExprFn = (ctx, el) => {
        const a = operand(l(ctx, el));
        const b = operand(r(ctx, el));
        if (a === undefined || b === undefined) return undefined;
        return binaryOp(op, a, b);
      };
      return { ...base, fn, dynamicPath: false, written: Object.freeze({ value: e.text, type: "string" }) };
    }
    case "arith": {
      const head = compileExpr(e.head, scope, d).fn;
      const ops = e.rest.map((r) => r.op.op);
      const fns = e.rest.map((r) => compileExpr(r.e, scope, d).fn);
      const n = fns.length;
      const fn: ExprFn = (ctx, el) => {
        let acc = operand(head(ctx, el));
        let missing = acc === undefined;
        for (let i = 0; i < n; i++) {
          const b = operand((fns[i] as ExprFn)(ctx, el));
          if (b === undefined || missing) {
            missing = true;
            continue;
          }
          acc = binaryOp(ops[i] as string, acc as number, b);
        }
        return missing ? undefined : acc;
      };
      return { ...base, fn, dynamicPath: false, written: Object.freeze({ value: e.text, type: "string" }) };
    }
    case "fn": {
      const args = e.args.map((a) => compileExpr(a, scope, d).fn);
      const name = e.name;
      const fn: ExprFn = (ctx, el) => {
        const vals: number[] = [];
        let missing = false;
        for (const a of args) {
          const v = operand(a(ctx, el));
          if (v === undefined) missing = true;
          else vals.push(v);
        }
        if (missing) return undefined;
        return finite(applyFn(name, vals));
      };
      return { ...base, fn, dynamicPath: false, written: Object.freeze({ value: e.text, type: "string" }) };
    }
  }
}

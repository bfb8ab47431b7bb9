/**
 * Rule references (docs/language.md#several-rules): golden-rule selection (#golden-rule), resolution of outcome and label
 * references (#outcome-references, #label-references) and property inference (#property-inference). Resolution is static — it depends only on rule names — so it is
 * done once at compile time.
 */
import type { CondAst, CondItemAst, RuleAst } from "./ast.js";
import { parseError } from "./errors.js";
import { KeyMatcher, camel } from "./keys.js";

export interface RuleInfo {
  label: string | null;
  outcome: string;
}

export function visitConds(list: CondItemAst[], f: (c: CondAst) => void): void {
  const visit = (c: CondAst): void => {
    f(c);
    if (c.kind === "group") for (const i of c.list) visit(i.cond);
    else if (c.kind === "not") visit(c.cond);
  };
  for (const i of list) visit(i.cond);
}

const STOP = new Set([
  "the",
  "a",
  "an",
  "is",
  "are",
  "was",
  "were",
  "has",
  "have",
  "had",
  "gets",
  "passes",
  "of",
  "meets",
  "qualifies",
  "for",
  "satisfies",
  "achieves",
  "completes",
  "fulfills",
  "obtains",
  "receives",
]);

function significant(s: string): Set<string> {
  return new Set(
    s
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w.length > 2 && !STOP.has(w)),
  );
}

export function significantMatch(ref: string, outcome: string): boolean {
  if (ref.length < 3 || outcome.length < 3) return false;
  const r = significant(ref);
  const o = significant(outcome);
  if (r.size === 0 || o.size === 0) return false;
  for (const w of r) if (!o.has(w)) return false;
  return true;
}

/** Outcome keys referenced anywhere in the policy (docs/language.md#golden-rule). */
export function referencedOutcomes(rules: RuleAst[]): Set<string> {
  const set = new Set<string>();
  for (const r of rules) {
    visitConds(r.conds, (c) => {
      if (c.kind === "label") {
        for (const q of rules) if (q.label === c.name || q.outcome === c.name) set.add(q.outcome);
      } else if (c.kind === "oref") {
        for (const q of rules) {
          if (q.label === c.name || q.outcome === c.name || significantMatch(c.name, q.outcome)) set.add(q.outcome);
        }
      }
    });
  }
  return set;
}

/** docs/language.md#golden-rule: index of the golden rule, or a parse error. */
export function selectGolden(rules: RuleAst[]): number {
  if (rules.length === 0) throw parseError("No global rule found");
  if (rules.length === 1) return 0;
  const referenced = referencedOutcomes(rules);
  const golden: number[] = [];
  rules.forEach((r, i) => {
    if (!referenced.has(r.outcome)) golden.push(i);
  });
  if (golden.length === 1) return golden[0] as number;
  if (golden.length === 0) throw parseError("No global rule found");
  const names = golden.map((i) => {
    const r = rules[i] as RuleAst;
    return r.label !== null ? "'" + r.label + "' (" + r.outcome + ")" : "'" + r.outcome + "'";
  });
  throw parseError("Multiple global rules found: " + names.join(", ") + ". There should be only one golden rule that is not referenced by other rules.");
}

const REF_PREFIXES = ["passes the", "passes", "has", "has the", "is", "gets", "gets the"];

/** docs/language.md#outcome-references steps 1–3: the rule an outcome reference names, or -1. */
export function resolveOutcomeRef(name: string, rules: readonly RuleInfo[], self: number): number {
  for (let i = rules.length - 1; i >= 0; i--) if ((rules[i] as RuleInfo).outcome === name) return i;
  for (let i = 0; i < rules.length; i++) if ((rules[i] as RuleInfo).label === name) return i;
  const n = name.toLowerCase();
  let c = n;
  for (const p of REF_PREFIXES) {
    if (n === p || n.startsWith(p + " ")) {
      const rest = n.slice(p.length).trim();
      if (rest.length > 0) c = rest;
      break;
    }
  }
  for (let i = 0; i < rules.length; i++) {
    if (i === self) continue;
    const o = (rules[i] as RuleInfo).outcome.toLowerCase();
    if (o === c || o === n) return i;
  }
  for (let i = 0; i < rules.length; i++) {
    if (i === self) continue;
    const o = (rules[i] as RuleInfo).outcome.toLowerCase();
    if (o.includes(c) || o.includes(n) || c.includes(o) || n.includes(o)) return i;
  }
  return -1;
}

/** docs/language.md#label-references: label first, then outcome key; no fuzzy matching. */
export function resolveLabelRef(name: string, rules: readonly RuleInfo[]): number {
  for (let i = 0; i < rules.length; i++) if ((rules[i] as RuleInfo).label === name) return i;
  for (let i = rules.length - 1; i >= 0; i--) if ((rules[i] as RuleInfo).outcome === name) return i;
  return -1;
}

const INFERENCE_PHRASES = [
  "passes the",
  "passes",
  "qualifies for the",
  "qualifies for",
  "qualifies",
  "meets the",
  "meets",
  "satisfies the",
  "satisfies",
  "is eligible for the",
  "is eligible for",
  "is eligible",
  "has passed the",
  "has passed",
  "has qualified for the",
  "has qualified for",
  "has qualified",
  "is approved for the",
  "is approved for",
  "is approved",
];
const SUFFIXES = ["", "Passed", "Qualified", "Eligible", "Approved", "Status"];

/** Candidate property names of docs/language.md#property-inference, as key matchers. */
export function inferenceCandidates(name: string): KeyMatcher[] {
  let cleaned = name;
  for (const p of INFERENCE_PHRASES) cleaned = cleaned.split(p).join("");
  cleaned = cleaned.trim();
  const base = camel(cleaned);
  const out = SUFFIXES.map((x) => base + x);
  const ws = cleaned.split(/\s+/).filter(Boolean);
  if (ws.length > 0) {
    const last = camel(ws[ws.length - 1] as string);
    out.push(...SUFFIXES.map((x) => last + x));
  }
  return out.map((n) => new KeyMatcher(n));
}

const TRUE_WORDS = new Set(["pass", "true", "yes", "passed", "valid"]);

/** Value of an inferred property and its trace rendering (docs/language.md#property-inference, #trace-entries). */
export function inferredValue(v: unknown): { result: boolean; rendered: unknown } {
  if (typeof v === "boolean") return { result: v, rendered: { Boolean: v } };
  if (typeof v === "string") return { result: TRUE_WORDS.has(v.toLowerCase()), rendered: { String: v } };
  if (typeof v === "number") return { result: v !== 0, rendered: { Number: v } };
  return { result: false, rendered: v === undefined ? null : v };
}

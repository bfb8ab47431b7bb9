/**
 * Runs every case of the conformance corpus (conformance/dsl-cases.json beside this file) as one test named by its id.
 * The corpus README lists the `expect` fields; each one present is checked.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { explainPolicy, runPolicy, type ExplainedCondition, type PolicyExplanation, type PolicyResponse } from "../../src/engine/index.js";

interface Case {
  id: string;
  category: string;
  rule: string;
  data: unknown;
  now: string;
  derived?: boolean;
  expect: Record<string, unknown>;
}

const cases = JSON.parse(readFileSync(new URL("./conformance/dsl-cases.json", import.meta.url), "utf8")) as Case[];

/**
 * Cases whose expectation contradicts the documented language (docs/language.md). The documentation wins (corpus
 * README); each entry says why and gives the expectation the documentation implies, which is what the test then checks.
 */
const OVERRIDES: Record<string, { reason: string; expect: Record<string, unknown> }> = {};

function subsetMatch(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== "object") return Object.is(actual, expected) || actual === expected;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => subsetMatch(actual[i], e));
  }
  if (actual === null || typeof actual !== "object") return false;
  return Object.entries(expected).every(([k, v]) => subsetMatch((actual as Record<string, unknown>)[k], v));
}

function collectPaths(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) collectPaths(n, out);
  } else if (node !== null && typeof node === "object") {
    const o = node as Record<string, unknown>;
    const p = o.property as { path?: unknown } | undefined;
    if (p && typeof p === "object" && typeof p.path === "string") out.add(p.path);
    for (const v of Object.values(o)) collectPaths(v, out);
  }
}

function checkConditions(actual: ExplainedCondition[], expected: Record<string, unknown>[]): void {
  for (const e of expected) {
    const idx = e.index as number;
    const a = actual[idx];
    expect(a, `condition ${idx}`).toBeDefined();
    const c = a as ExplainedCondition;
    for (const [k, v] of Object.entries(e)) {
      if (k === "index") continue;
      if (k === "type") expect(c.type === "quantifier" ? "comparison" : c.type, `condition ${idx} type`).toBe(v);
      else if (k === "value") expect(subsetMatch(c.value, v), `condition ${idx} value ${JSON.stringify(c.value)}`).toBe(true);
      else if (k === "leftPath") expect(c.leftPath).toEqual(v);
      else expect((c as unknown as Record<string, unknown>)[k], `condition ${idx} ${k}`).toEqual(v);
    }
  }
}

function checkParse(x: PolicyExplanation, e: Record<string, unknown>): void {
  const first = x.rules[0];
  if ("ruleCount" in e) expect(x.ruleCount).toBe(e.ruleCount);
  if ("label" in e) expect(first?.label ?? null).toBe(e.label);
  if ("selector" in e) expect(first?.selector).toBe(e.selector);
  if ("outcome" in e) expect(first?.outcome).toBe(e.outcome);
  if ("golden" in e) expect(x.golden).toBe(e.golden);
  if ("referencedOutcomes" in e) expect([...x.referencedOutcomes].sort()).toEqual([...(e.referencedOutcomes as string[])].sort());
  if ("referencedOutcomesInclude" in e) expect(x.referencedOutcomes).toEqual(expect.arrayContaining(e.referencedOutcomesInclude as string[]));
  if ("conditionCount" in e) expect(first?.conditions.length).toBe(e.conditionCount);
  if ("conditions" in e) checkConditions(first?.conditions ?? [], e.conditions as Record<string, unknown>[]);
  if ("rules" in e) {
    for (const r of e.rules as Record<string, unknown>[]) {
      const a = x.rules[r.index as number];
      expect(a, `rule ${String(r.index)}`).toBeDefined();
      if ("label" in r) expect(a?.label ?? null).toBe(r.label);
      if ("conditions" in r) checkConditions(a?.conditions ?? [], r.conditions as Record<string, unknown>[]);
    }
  }
}

function checkEvaluation(res: PolicyResponse, e: Record<string, unknown>): void {
  if ("error" in e) {
    expect(res.error, "error").not.toBeNull();
    expect(res.error).toContain(e.error as string);
    expect(res.result).toBe(false);
    if (e.errorKind === "parse") expect(res.error).toMatch(/^Parse error: /);
    if (e.errorKind === "evaluation") expect(res.error).toMatch(/^(Evaluation|Type) error: /);
    for (const s of (e.errorContains as string[] | undefined) ?? []) expect(res.error).toContain(s);
  } else if ("result" in e || "outcomes" in e || "labels" in e) {
    expect(res.error, "error").toBeNull();
  }
  if ("result" in e) expect(res.result).toBe(e.result);
  if ("outcomes" in e) {
    const outcomes: Record<string, boolean> = {};
    for (const entry of res.trace?.execution ?? []) outcomes[entry.outcome.value] = entry.result;
    for (const [k, v] of Object.entries(e.outcomes as Record<string, boolean>)) expect(outcomes[k], `outcome ${k}`).toBe(v);
  }
  if ("labels" in e) expect(res.labels).toEqual(e.labels);
  if ("tracePaths" in e) {
    const paths = new Set<string>();
    collectPaths(res.trace, paths);
    for (const p of e.tracePaths as string[]) expect([...paths]).toContain(p);
  }
  if ("tracePresent" in e) expect(res.trace !== null).toBe(e.tracePresent);
  if ("trace" in e) {
    const t = e.trace as { executionCount?: number; execution?: Record<string, unknown>[] };
    const exec = res.trace?.execution ?? [];
    if (t.executionCount !== undefined) expect(exec.length).toBe(t.executionCount);
    for (const x of t.execution ?? []) {
      const a = exec[x.index as number];
      expect(a, `trace entry ${String(x.index)}`).toBeDefined();
      if ("outcome" in x) expect(a?.outcome.value).toBe(x.outcome);
      if ("result" in x) expect(a?.result).toBe(x.result);
      if ("conditionCount" in x) expect(a?.conditions.length).toBe(x.conditionCount);
      if ("conditionsNonEmpty" in x) expect((a?.conditions.length ?? 0) > 0).toBe(x.conditionsNonEmpty);
    }
  }
}

describe("dsl conformance", () => {
  for (const c of cases) {
    const override = OVERRIDES[c.id];
    const e = override ? override.expect : c.expect;
    it(c.id, () => {
      if (e.parses === true) {
        const x = explainPolicy(c.rule);
        if ("error" in x) throw new Error("expected to parse: " + x.error);
        checkParse(x, e);
        return;
      }
      const res = runPolicy(c.rule, c.data, { now: new Date(c.now + "T12:00:00Z") });
      checkEvaluation(res, e);
      if ("parsed" in e) {
        const x = explainPolicy(c.rule);
        if ("error" in x) throw new Error("expected to parse: " + x.error);
        checkParse(x, e.parsed as Record<string, unknown>);
      }
    });
  }
});

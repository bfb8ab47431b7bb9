/** Issue #11 at the engine: every bound is reached and named; a slice gives up without an answer. */
import { describe, expect, it } from "vitest";
import { compilePolicy, evaluateMetered, evaluatePolicy } from "../../src/engine/index.js";
import { FLOW_RUN_LIMITS, runFlow, validateFlowDefinition, type PolicyRunner } from "../../src/engine/flow/index.js";

const NOW = new Date("2025-09-16T00:00:00Z");
const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe("engine bounds", () => {
  it("charges data-touching work: a long string, a long list and a wide object each reach the budget", () => {
    const cases: [string, unknown][] = [
      ['A **x** is ok if __s__ of **x** contains "zz".', { x: { s: "a ".repeat(100_000) } }],
      ["A **x** is ok if __xs__ of **x** contains 7.", { x: { xs: Array.from({ length: 100_000 }, () => 1) } }],
      ["A **x** is ok if the sum of __xs__ of **x** is greater than 1.", { x: { xs: Array.from({ length: 100_000 }, () => 1) } }],
      ['A **x** is ok if __s__ of **x** has the format "json".', { x: { s: "[" + "1,".repeat(100_000) + "1]" } }],
      ["A **x** is ok if __missing__ of **x** exists.", { x: wide(10_000) }],
    ];
    for (const [rule, data] of cases) {
      expect(evaluatePolicy(compilePolicy(rule), data, { now: NOW }).error, rule).toBeNull();
      expect(evaluatePolicy(compilePolicy(rule), data, { now: NOW, maxSteps: 10_000 }).error, rule).toBe(
        "Evaluation error: evaluation exceeded the step budget of 10000 (maxSteps)",
      );
    }
  });

  it("stops at maxAnswerBytes while the trace is built", () => {
    const rule = `A **x** is ok if ${Array.from({ length: 10 }, () => "__s__ of **x** is not empty").join(" and ")}.`;
    const res = evaluatePolicy(compilePolicy(rule), { x: { s: "a".repeat(100_000) } }, { now: NOW, maxAnswerBytes: 500_000 });
    expect(res.error).toBe("Evaluation error: the answer would exceed 500000 bytes (maxAnswerBytes)");
    expect(res.trace!.execution[0]!.conditions.length).toBeLessThan(4);
  });

  it("stops at the deadline and names the setting given", () => {
    const rule = `A **x** is ok if ${Array.from({ length: 400 }, (_, i) => `__missing ${i}__ of **o${i % 40}** of **x** exists`).join(" and ")}.`;
    const data = { x: Object.fromEntries(Array.from({ length: 40 }, (_, o) => [`o${o}`, wide(5_000)])) };
    const res = evaluatePolicy(compilePolicy(rule), data, { now: NOW, maxSteps: 1e12, deadline: { ms: 1, setting: "EVALUATION_DEADLINE_MS" } });
    expect(res.error).toBe("Evaluation error: evaluation exceeded its deadline of 1 ms (EVALUATION_DEADLINE_MS)");
  });

  it("gives up at a slice without an answer, and the full run answers as evaluatePolicy does", () => {
    const rule = "A **o** is ok if any __items__ of **o** is equal to 999.";
    const data = { o: { items: Array.from({ length: 1_000 }, (_, i) => i) } };
    const compiled = compilePolicy(rule);
    expect(evaluateMetered(compiled, data, { now: NOW, sliceSteps: 100 })).toMatchObject({ sliced: true });
    expect(evaluateMetered(compiled, data, { now: NOW, sliceAnswerBytes: 10_000 })).toMatchObject({ sliced: true });
    const full = evaluateMetered(compiled, data, { now: NOW });
    expect(full.sliced).toBe(false);
    if (!full.sliced) expect(full.response).toEqual(evaluatePolicy(compiled, data, { now: NOW }));
  });
});

describe("flow bounds", () => {
  const ok = evaluatePolicy(compilePolicy("A **u** is ok if __a__ of **u** is equal to 1."), { u: { a: 1 } }, { now: NOW });
  const runner =
    (steps: number, answerBytes: number): PolicyRunner =>
    async () => ({ response: ok, databaseNs: 0n, engineNs: 0n, steps, answerBytes });
  const starts = (n: number) =>
    validateFlowDefinition({ flow: { start: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, type: "start", policyId: "p" })) } });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("flow did not fail");
      },
      (e: { code: string; details: unknown }) => e,
    );

  it("stops at maxFlowSteps, maxFlowNodeRuns and maxFlowResponseBytes with codes naming them", async () => {
    const steps = await failure(runFlow(starts(3), {}, runner(FLOW_RUN_LIMITS.maxFlowSteps / 2 + 1, 100)));
    expect(steps).toMatchObject({ code: "FLOW_STEPS_EXCEEDED", details: { nodeId: "n1", limit: "maxFlowSteps" } });
    const runs = await failure(runFlow(starts(FLOW_RUN_LIMITS.maxFlowNodeRuns + 1), {}, runner(1, 100)));
    expect(runs).toMatchObject({ code: "FLOW_NODE_RUNS_EXCEEDED", details: { limit: "maxFlowNodeRuns" } });
    const bytes = await failure(runFlow(starts(10), {}, runner(1, FLOW_RUN_LIMITS.maxFlowResponseBytes / 4)));
    expect(bytes).toMatchObject({ code: "FLOW_RESPONSE_TOO_LARGE", details: { nodeId: "n3", limit: "maxFlowResponseBytes" } });
  });

  it("gives each node what remains of the flow's budget", async () => {
    const budgets: number[] = [];
    const spy: PolicyRunner = async (_id, _data, budget) => {
      budgets.push(budget.maxSteps);
      return { response: ok, databaseNs: 0n, engineNs: 0n, steps: 1_500_000, answerBytes: 100 };
    };
    await failure(runFlow(starts(2), {}, spy));
    expect(budgets).toEqual([1_000_000, FLOW_RUN_LIMITS.maxFlowSteps - 1_500_000 + 1]);
  });
});

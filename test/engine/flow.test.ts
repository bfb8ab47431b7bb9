import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicyResponse } from "../../src/engine/api.js";
import {
  FLOW_LIMITS,
  FlowError,
  type FlowDefinition,
  type PolicyRunner,
  flowNotFoundError,
  flowPolicyIds,
  invalidJsonBodyError,
  parseFlow,
  runFlow,
  validateFlowDefinition,
} from "../../src/engine/flow/index.js";

const DATA = { Person: { age: 25 }, Applicant: { score: 700 } };

/** A hand-built run response, as the engine would produce for a one-rule policy. */
function response(result: boolean, rule: string, error: string | null = null): PolicyResponse {
  return {
    result,
    trace: {
      execution: [{ selector: { value: "Person" }, outcome: { value: "approved" }, conditions: [], result }],
    },
    rule: [rule],
    data: DATA,
    error,
    labels: null,
  };
}

interface Call {
  policyId: string;
  data: unknown;
}

/** A fake PolicyRunner over a fixed map; unknown ids answer null (POLICY_NOT_FOUND). */
function fakeRunner(policies: Record<string, PolicyResponse>, calls: Call[] = []): PolicyRunner {
  return async (policyId, data) => {
    calls.push({ policyId, data });
    const res = Object.hasOwn(policies, policyId) ? policies[policyId] : undefined;
    if (res === undefined) return null;
    return { response: res, databaseNs: 1000n, engineNs: 20_000n };
  };
}

/** The flow definition example of docs/language.md#flow-definition, with comments. */
const SPEC_FLOW = `flow:
  start:                      # list of top-level nodes, normally exactly one
    - id: start-1
      type: start             # start | policy | return | custom
      policyId: age-policy    # required for start and policy nodes
      policyName: Age check   # ignored by execution (editor information)
      onTrue:                 # nodes run when this node's boolean is true
        - id: credit
          type: policy
          policyId: credit-policy
          onTrue:
            - id: ok
              type: return
              returnValue: true
          onFalse:
            - id: review
              type: custom
              outcome: manual-review
      onFalse:                # nodes run when it is false
        - id: no
          type: return
          returnValue: false
metadata:                     # optional, informational only
  totalNodes: 5
  totalEdges: 4
  timestamp: 2025-06-17T22:42:27.457Z
`;

async function flowError(promise: Promise<unknown> | (() => unknown)): Promise<FlowError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (e) {
    expect(e).toBeInstanceOf(FlowError);
    return e as FlowError;
  }
  throw new Error("expected a FlowError");
}

const ids = (r: { nodeResponse: { nodeId: string }[] }): string[] => r.nodeResponse.map((n) => n.nodeId);

describe("parseFlow", () => {
  it("loads the example definition", () => {
    const def = parseFlow(SPEC_FLOW);
    expect(def.metadata).toEqual({ totalNodes: 5, totalEdges: 4, timestamp: "2025-06-17T22:42:27.457Z" });
    const start = def.flow.start[0];
    expect(start).toMatchObject({ id: "start-1", type: "start", policyId: "age-policy", policyName: "Age check", returnValue: null });
    expect(flowPolicyIds(def)).toEqual([
      { nodeId: "start-1", policyId: "age-policy" },
      { nodeId: "credit", policyId: "credit-policy" },
    ]);
  });

  it('reads scalar ids and policy ids as text, a missing id as "", and ignores unknown keys', () => {
    const def = parseFlow(`flow:
  start:
    - type: policy
      policyId: 42
      colour: blue
      position: {x: 1, y: 2}
      onTrue:
        - id: 7
          type: custom
          outcome: 12
`);
    expect(def.flow.start[0]).toEqual({
      id: "",
      type: "policy",
      policyId: "42",
      returnValue: null,
      onTrue: [{ id: "7", type: "custom", outcome: "12", onTrue: [], onFalse: [] }],
      onFalse: [],
    });
  });

  it("rejects text that does not load as YAML with the exact VALIDATION_ERROR (docs/language.md#flow-errors)", async () => {
    const bad = [
      "flow: [1, 2\n",
      "flow:\n  start: []\nflow:\n  start: []\n", // duplicate key
      "flow: {start: []}\n---\nflow: {start: []}\n", // two documents
      "flow: !custom {start: []}\n", // unknown tag
      "flow:\n  start:\n    - id: x\n      type: return\n      returnValue: !!binary aGVsbG8=\n", // YAML 1.1 tag
      "? [a, b]\n: c\n", // non-string key
      `flow: {start: []}\n${"#".repeat(1_048_577)}`, // too long
      `flow: {start: [${"[".repeat(2000)}${"]".repeat(2000)}]}`, // nested too deeply
      `flow: {start: []}\nx: ${"- ".repeat(2000)}a\n`, // compact block nesting
      `flow: {start: []}\nx: [${"0,".repeat(100_001)}]\n`, // too many YAML nodes
      "flow: {start: []}\n1: a\n'1': b\n", // keys that collide once they become object keys
      // Billion laughs: each level multiplies the alias expansion.
      "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nflow: {start: [{type: return, returnValue: *d}]}\n",
    ];
    for (const text of bad) {
      const e = await flowError(() => parseFlow(text));
      expect(e.code, text.slice(0, 60)).toBe("VALIDATION_ERROR");
      expect(e.message).toBe("validation error on field 'flow': invalid YAML flow format");
      expect(e.details).toEqual({ field: "flow" });
    }
  });

  it("accepts deep but legitimate YAML nesting (64 levels of nodes)", () => {
    let yaml = "flow:\n  start:\n";
    let indent = "    ";
    for (let depth = 1; depth <= FLOW_LIMITS.maxDepth; depth++) {
      yaml += `${indent}- id: n${depth}\n${indent}  type: custom\n${indent}  outcome: o${depth}\n${indent}  onTrue:\n`;
      indent += "    ";
    }
    const def = parseFlow(yaml);
    expect(def.flow.start[0]?.id).toBe("n1");
  });

  it("accepts a YAML flow of the maximum size (1,000 nodes, every field set)", () => {
    let yaml = "flow:\n  start:\n";
    for (let i = 0; i < FLOW_LIMITS.maxNodes / 2; i++) {
      yaml += `    - id: node-${i}\n      type: policy\n      policyId: policy-${i}\n      policyName: "Policy number ${i}"\n`;
      yaml += `      returnValue: true\n      onTrue: []\n      onFalse:\n        - {id: r${i}, type: return, returnValue: {a: [1, 2, 3]}}\n`;
    }
    const def = parseFlow(yaml);
    expect(def.flow.start).toHaveLength(FLOW_LIMITS.maxNodes / 2);
    expect(flowPolicyIds(def)).toHaveLength(FLOW_LIMITS.maxNodes / 2);
  });

  it("treats YAML that loads but is not a flow as a validation error on 'flow'", async () => {
    for (const text of ["", "just text", "- a\n- b\n", "flow: 3\n", "flow:\n  nodes: []\n", "flow:\n  start: {id: x}\n"]) {
      const e = await flowError(() => parseFlow(text));
      expect(e.code, text).toBe("VALIDATION_ERROR");
      expect(e.message).toMatch(/^validation error on field 'flow': /);
      expect(e.details).toEqual({ field: "flow" });
    }
  });

  it("loads JSON text too (JSON is YAML), including tab-indented JSON", () => {
    const def = {
      flow: {
        start: [
          {
            id: "s",
            type: "start",
            policyId: "p",
            returnValue: true,
            onTrue: [{ id: "c", type: "custom", outcome: 'tab\there, "quoted", é', onTrue: [], onFalse: [] }],
            onFalse: [{ id: "r", type: "return", returnValue: { a: [1, 2.5e3, null, true] } }],
          },
        ],
      },
    };
    for (const indent of [undefined, 2, "\t"]) expect(parseFlow(JSON.stringify(def, null, indent))).toEqual(def);
  });

  it("treats %YAML 1.1 documents with the 1.2 core schema (no merge keys, `yes` is a string)", () => {
    const def = parseFlow("%YAML 1.1\n---\nflow:\n  start:\n    - id: r\n      type: return\n      returnValue: yes\n");
    expect(def.flow.start[0]).toEqual({ id: "r", type: "return", returnValue: "yes" });
  });
});

describe("validateFlowDefinition", () => {
  it("accepts an already-parsed (JSON) object", () => {
    const def = validateFlowDefinition(JSON.parse('{"flow":{"start":[{"id":"a","type":"start","policyId":"p","returnValue":true}]}}'));
    expect(def).toEqual({ flow: { start: [{ id: "a", type: "start", policyId: "p", returnValue: true, onTrue: [], onFalse: [] }] } });
  });

  it("MISSING_POLICY_ID for a start/policy node without policyId, naming the node", async () => {
    for (const policyId of [undefined, null, ""]) {
      for (const type of ["start", "policy"]) {
        const e = await flowError(() => validateFlowDefinition({ flow: { start: [{ id: "n1", type, policyId }] } }));
        expect(e.code).toBe("MISSING_POLICY_ID");
        expect(e.details).toEqual({ nodeId: "n1" });
      }
    }
  });

  it("INVALID_FLOW for an unknown type, a custom node without outcome, a non-boolean returnValue", async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ id: "x", type: "decision" }, "x", /^unknown node type: decision$/],
      [{ id: "x", type: "Start", policyId: "p" }, "x", /^unknown node type: Start$/],
      [{ id: "x" }, "x", /^unknown node type: null$/],
      [{ id: "c", type: "custom" }, "c", /custom node 'c' has no outcome/],
      [{ id: "c", type: "custom", outcome: null }, "c", /has no outcome/],
      [{ id: "c", type: "custom", outcome: { a: 1 } }, "c", /outcome must be a string/],
      [{ id: "p", type: "policy", policyId: "x", returnValue: "yes" }, "p", /returnValue must be true, false or absent/],
      [{ id: "p", type: "start", policyId: "x", returnValue: 1 }, "p", /returnValue/],
      [{ id: "p", type: "start", policyId: "x", onTrue: "oops" }, "p", /'onTrue' must be a list/],
      [{ id: "r", type: "return", returnValue: Number.POSITIVE_INFINITY }, "r", /returnValue must be JSON/],
      [{ id: "r", type: "return", returnValue: new Date(0) }, "r", /returnValue must be JSON/],
      ["not a node", "", /must be a mapping/],
    ];
    for (const [node, nodeId, message] of cases) {
      const e = await flowError(() => validateFlowDefinition({ flow: { start: [node] } }));
      expect(e.code, JSON.stringify(node)).toBe("INVALID_FLOW");
      expect(e.details).toEqual({ nodeId });
      expect(e.message).toMatch(message);
    }
  });

  it("checks the whole tree up front, including branches the data would not take", async () => {
    const def = {
      flow: { start: [{ id: "s", type: "start", policyId: "p", onFalse: [{ id: "bad", type: "custom" }] }] },
    };
    const e = await flowError(() => validateFlowDefinition(def));
    expect(e.code).toBe("INVALID_FLOW");
    expect(e.details).toEqual({ nodeId: "bad" });
  });

  it("bounds the number of nodes and the depth", async () => {
    const many = { flow: { start: Array.from({ length: FLOW_LIMITS.maxNodes + 1 }, (_, i) => ({ id: `r${i}`, type: "return" })) } };
    const tooMany = await flowError(() => validateFlowDefinition(many));
    expect(tooMany.code).toBe("INVALID_FLOW");
    expect(tooMany.message).toMatch(/more than 1000 nodes/);
    expect(tooMany.details).toEqual({ nodeId: `r${FLOW_LIMITS.maxNodes}` });

    const chain = (depth: number): unknown =>
      depth === 0 ? { id: "leaf", type: "return" } : { id: `d${depth}`, type: "custom", outcome: "x", onTrue: [chain(depth - 1)] };
    expect(() => validateFlowDefinition({ flow: { start: [chain(FLOW_LIMITS.maxDepth - 1)] } })).not.toThrow();
    const tooDeep = await flowError(() => validateFlowDefinition({ flow: { start: [chain(FLOW_LIMITS.maxDepth)] } }));
    expect(tooDeep.code).toBe("INVALID_FLOW");
    expect(tooDeep.message).toMatch(/deeper than 64 levels/);
    expect(tooDeep.details).toEqual({ nodeId: "leaf" });

    // A cyclic object (only possible from code, not JSON) ends at the depth bound instead of looping.
    const cyclic: Record<string, unknown> = { id: "loop", type: "custom", outcome: "x" };
    cyclic.onTrue = [cyclic];
    expect((await flowError(() => validateFlowDefinition({ flow: { start: [cyclic] } }))).code).toBe("INVALID_FLOW");
  });

  it("bounds return values and keeps a __proto__ key as plain data", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect((await flowError(() => validateFlowDefinition({ flow: { start: [{ type: "return", returnValue: deep }] } }))).message).toMatch(/nested deeper/);

    const def = parseFlow('flow:\n  start:\n    - type: return\n      returnValue: {"__proto__": {"polluted": true}, "a": [1, "two", null]}\n');
    const value = (def.flow.start[0] as { returnValue: Record<string, unknown> }).returnValue;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "a"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads only own properties", () => {
    const inherited = Object.create({ type: "custom", outcome: "x" }) as Record<string, unknown>;
    expect(() => validateFlowDefinition({ flow: { start: [inherited] } })).toThrow(FlowError);
  });
});

describe("runFlow: the three outcomes of the example flow", () => {
  const def = parseFlow(SPEC_FLOW);

  it('age true, credit false ⇒ "manual-review" with start-1, credit, review', async () => {
    const r = await runFlow(def, DATA, fakeRunner({ "age-policy": response(true, "age"), "credit-policy": response(false, "credit") }));
    expect(r.result).toBe("manual-review");
    expect(ids(r)).toEqual(["start-1", "credit", "review"]);
    expect(r.nodeResponse.map((n) => n.nodeType)).toEqual(["start", "policy", "custom"]);
    expect(r.nodeResponse[2]).toEqual({
      nodeId: "review",
      nodeType: "custom",
      response: {
        result: true,
        trace: {
          execution: [{ conditions: [], outcome: { value: "manual-review" }, result: true, selector: { value: "custom_response" } }],
        },
        rule: ["Custom response: manual-review"],
        data: DATA,
        error: null,
        labels: null,
      },
    });
    const custom = r.nodeResponse[2]!.response;
    expect(Object.keys(custom)).toEqual(["result", "trace", "rule", "data", "error", "labels"]);
    expect(Object.keys(custom.trace!.execution[0]!)).toEqual(["conditions", "outcome", "result", "selector"]);
  });

  it("both true ⇒ true with start-1 and credit", async () => {
    const r = await runFlow(def, DATA, fakeRunner({ "age-policy": response(true, "age"), "credit-policy": response(true, "credit") }));
    expect(r.result).toBe(true);
    expect(ids(r)).toEqual(["start-1", "credit"]);
    expect(r.nodeResponse[0]!.response).toEqual(response(true, "age"));
  });

  it("age false ⇒ false with the single entry start-1", async () => {
    const calls: Call[] = [];
    const r = await runFlow(def, DATA, fakeRunner({ "age-policy": response(false, "age"), "credit-policy": response(true, "credit") }, calls));
    expect(r.result).toBe(false);
    expect(ids(r)).toEqual(["start-1"]);
    expect(calls).toEqual([{ policyId: "age-policy", data: DATA }]);
  });
});

describe("runFlow semantics", () => {
  const T = response(true, "t");
  const F = response(false, "f");
  const policies = { T, F };

  it("returnValue false always takes onFalse; true/absent branch on the result", async () => {
    const node = (returnValue: unknown) => ({
      id: "p",
      type: "policy",
      policyId: "T",
      returnValue,
      onTrue: [{ type: "return", returnValue: "went-true" }],
      onFalse: [{ type: "return", returnValue: "went-false" }],
    });
    const run = async (rv: unknown) => (await runFlow(validateFlowDefinition({ flow: { start: [node(rv)] } }), {}, fakeRunner(policies))).result;
    expect(await run(false)).toBe("went-false");
    expect(await run(true)).toBe("went-true");
    expect(await run(null)).toBe("went-true");
    expect(await run(undefined)).toBe("went-true");
  });

  it("a node without children yields its boolean; returnValue false yields false", async () => {
    const run = async (node: unknown) => (await runFlow(validateFlowDefinition({ flow: { start: [node] } }), {}, fakeRunner(policies))).result;
    expect(await run({ type: "start", policyId: "T" })).toBe(true);
    expect(await run({ type: "start", policyId: "F" })).toBe(false);
    expect(await run({ type: "start", policyId: "T", returnValue: false })).toBe(false);
  });

  it("several start nodes: all run in order and the last decides, even when it yields null", async () => {
    const calls: Call[] = [];
    const def = validateFlowDefinition({
      flow: {
        start: [
          { id: "a", type: "start", policyId: "T" },
          { id: "b", type: "custom", outcome: "second" },
          { id: "c", type: "return" },
        ],
      },
    });
    const r = await runFlow(def, {}, fakeRunner(policies, calls));
    expect(r.result).toBeNull();
    expect(ids(r)).toEqual(["a", "b"]);

    const last = validateFlowDefinition({
      flow: {
        start: [
          { type: "custom", outcome: "first" },
          { type: "start", policyId: "F" },
        ],
      },
    });
    expect((await runFlow(last, {}, fakeRunner(policies))).result).toBe(false);
  });

  it("an empty start list yields null and no responses", async () => {
    const r = await runFlow(validateFlowDefinition({ flow: { start: [] } }), {}, fakeRunner(policies));
    expect(r.result).toBeNull();
    expect(r.nodeResponse).toEqual([]);
  });

  it("child lists with several nodes: all run, the last non-null result wins", async () => {
    const def = parseFlow(`flow:
  start:
    - id: s
      type: start
      policyId: T
      onTrue:
        - {id: r1, type: return, returnValue: first}
        - {id: p1, type: policy, policyId: F}
        - {id: r2, type: return, returnValue: {answer: [1, 2]}}
        - {id: r3, type: return}
        - {id: r4, type: return, returnValue: null}
`);
    const r = await runFlow(def, {}, fakeRunner(policies));
    expect(r.result).toEqual({ answer: [1, 2] });
    expect(ids(r)).toEqual(["s", "p1"]);

    const allNull = parseFlow("flow:\n  start:\n    - {id: s, type: start, policyId: F, onFalse: [{type: return}, {type: return}]}\n");
    expect((await runFlow(allNull, {}, fakeRunner(policies))).result).toBe(false);
  });

  it("custom nodes run onTrue then onFalse, in pre-order, and children override the outcome", async () => {
    const def = parseFlow(`flow:
  start:
    - id: c
      type: custom
      outcome: base
      onTrue:
        - id: t1
          type: policy
          policyId: T
          onTrue:
            - {id: t1c, type: custom, outcome: nested}
      onFalse:
        - {id: f1, type: policy, policyId: F}
        - {id: f2, type: return}
`);
    const r = await runFlow(def, { x: 1 }, fakeRunner(policies));
    expect(ids(r)).toEqual(["c", "t1", "t1c", "f1"]);
    expect(r.result).toBe(false);
    expect(r.nodeResponse[0]!.response.data).toEqual({ x: 1 });

    const keep = parseFlow("flow:\n  start:\n    - {type: custom, outcome: kept, onFalse: [{type: return}]}\n");
    expect((await runFlow(keep, {}, fakeRunner(policies))).result).toBe("kept");
  });

  it("a policy error does not stop the flow: its response carries the error and onFalse is taken", async () => {
    const broken = response(false, "A **Person** gets", "Parse error: --> 1:18 expected an outcome verb");
    const def = parseFlow(`flow:
  start:
    - id: s
      type: start
      policyId: broken
      onTrue: [{type: return, returnValue: yes-branch}]
      onFalse: [{id: after, type: policy, policyId: T}]
`);
    const r = await runFlow(def, {}, fakeRunner({ ...policies, broken }));
    expect(r.result).toBe(true);
    expect(ids(r)).toEqual(["s", "after"]);
    expect(r.nodeResponse[0]!.response.error).toBe("Parse error: --> 1:18 expected an outcome verb");
  });

  it("POLICY_NOT_FOUND aborts the whole flow", async () => {
    const calls: Call[] = [];
    const def = parseFlow(
      "flow:\n  start:\n    - {id: s, type: start, policyId: T, onTrue: [{id: gone, type: policy, policyId: missing}]}\n    - {id: never, type: start, policyId: T}\n",
    );
    const e = await flowError(runFlow(def, {}, fakeRunner(policies, calls)));
    expect(e.code).toBe("POLICY_NOT_FOUND");
    expect(e.details).toEqual({ policyId: "missing" });
    expect(e.message).toBe("policy not found: missing");
    expect(calls.map((c) => c.policyId)).toEqual(["T", "missing"]);
  });

  it("re-checks hand-built definitions while running (MISSING_POLICY_ID, INVALID_FLOW)", async () => {
    const missing = { flow: { start: [{ id: "m", type: "policy", policyId: "", returnValue: null, onTrue: [], onFalse: [] }] } } as FlowDefinition;
    const e1 = await flowError(runFlow(missing, {}, fakeRunner(policies)));
    expect([e1.code, e1.details]).toEqual(["MISSING_POLICY_ID", { nodeId: "m" }]);
    const unknown = { flow: { start: [{ id: "u", type: "weird" }] } } as unknown as FlowDefinition;
    const e2 = await flowError(runFlow(unknown, {}, fakeRunner(policies)));
    expect([e2.code, e2.details, e2.message]).toEqual(["INVALID_FLOW", { nodeId: "u" }, "unknown node type: weird"]);
  });

  it("strips an execution member a runner left on the policy response", async () => {
    const runner: PolicyRunner = async () => ({
      response: { ...T, execution: { engine: "1" } } as PolicyResponse,
      databaseNs: 0n,
      engineNs: 0n,
    });
    const r = await runFlow(validateFlowDefinition({ flow: { start: [{ type: "start", policyId: "T" }] } }), {}, runner);
    expect(Object.keys(r.nodeResponse[0]!.response)).toEqual(["result", "trace", "rule", "data", "error", "labels"]);
  });

  it("reports timings as decimal nanosecond strings that add up", async () => {
    const def = parseFlow(SPEC_FLOW);
    const r = await runFlow(def, DATA, fakeRunner({ "age-policy": T, "credit-policy": F }));
    const policyNodes = r.nodeResponse.filter((n) => n.nodeType !== "custom");
    for (const n of policyNodes) expect(n.execution).toEqual({ database: "1000", engine: "20000", total: "21000" });
    expect(r.nodeResponse.find((n) => n.nodeType === "custom")?.execution).toBeUndefined();
    const { orchestrator, database, engine, total } = r.execution;
    for (const v of [orchestrator, database, engine, total]) expect(v).toMatch(/^\d+$/);
    expect(database).toBe("2000");
    expect(engine).toBe("40000");
    expect(BigInt(total)).toBe(BigInt(orchestrator) + BigInt(database) + BigInt(engine));
  });
});

describe("error helpers", () => {
  it("FLOW_NOT_FOUND and the body VALIDATION_ERROR", () => {
    const nf = flowNotFoundError("flow-9");
    expect([nf.code, nf.message, nf.details]).toEqual(["FLOW_NOT_FOUND", "flow not found: flow-9", { flowId: "flow-9" }]);
    const body = invalidJsonBodyError();
    expect([body.code, body.message, body.details]).toEqual(["VALIDATION_ERROR", "validation error on field 'body': invalid JSON format", { field: "body" }]);
    expect(nf).toBeInstanceOf(Error);
    expect(nf.name).toBe("FlowError");
  });
});

describe("runFlow agrees with a direct transcription of the flow execution rules (docs/language.md#flow-execution)", () => {
  type Raw = Record<string, unknown>;
  const RESULTS: Record<string, PolicyResponse> = {
    T: response(true, "t"),
    F: response(false, "f"),
    E: response(false, "e", "Evaluation error: Cannot calculate length of 42"),
  };

  /** The execution rules of docs/language.md#flow-execution, step by step, over the raw definition. */
  function reference(def: { flow: { start: Raw[] } }): { result: unknown; ids: string[] } {
    const ids: string[] = [];
    const exec = (node: Raw): unknown => {
      const children = (key: string): Raw[] => (Array.isArray(node[key]) ? (node[key] as Raw[]) : []);
      switch (node.type) {
        case "start":
        case "policy": {
          const res = RESULTS[node.policyId as string] as PolicyResponse;
          ids.push((node.id as string | undefined) ?? "");
          const b = node.returnValue === false ? false : res.result;
          let last: unknown = b;
          for (const child of b ? children("onTrue") : children("onFalse")) {
            const r = exec(child);
            if (r !== null) last = r;
          }
          return last;
        }
        case "return":
          return node.returnValue ?? null;
        default: {
          ids.push((node.id as string | undefined) ?? "");
          let last: unknown = node.outcome;
          for (const child of [...children("onTrue"), ...children("onFalse")]) {
            const r = exec(child);
            if (r !== null) last = r;
          }
          return last;
        }
      }
    };
    let result: unknown = null;
    for (const node of def.flow.start) result = exec(node);
    return { result, ids };
  }

  const id = fc.option(fc.string({ maxLength: 3 }), { nil: undefined });
  const withId = (node: Raw, nodeId: string | undefined): Raw => (nodeId === undefined ? node : { ...node, id: nodeId });
  const tree = fc.letrec<{ node: Raw; list: Raw[] }>((tie) => ({
    list: fc.array(tie("node"), { maxLength: 3 }),
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc
        .tuple(id, fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }))
        .map(([nodeId, value]) => withId(value === undefined ? { type: "return" } : { type: "return", returnValue: value }, nodeId)),
      fc
        .tuple(id, fc.constantFrom("start", "policy"), fc.constantFrom("T", "F", "E"), fc.constantFrom(undefined, null, true, false), tie("list"), tie("list"))
        .map(([nodeId, type, policyId, returnValue, onTrue, onFalse]) =>
          withId({ type, policyId, ...(returnValue === undefined ? {} : { returnValue }), onTrue, onFalse }, nodeId),
        ),
      fc
        .tuple(id, fc.string({ maxLength: 4 }), tie("list"), tie("list"))
        .map(([nodeId, outcome, onTrue, onFalse]) => withId({ type: "custom", outcome, onTrue, onFalse }, nodeId)),
    ),
  }));

  it("same result and the same pre-order node responses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tree.node, { maxLength: 3 }), async (start) => {
        const raw = { flow: { start } };
        const expected = reference(raw);
        const actual = await runFlow(validateFlowDefinition(raw), DATA, fakeRunner(RESULTS));
        expect(actual.result).toEqual(expected.result);
        expect(ids(actual)).toEqual(expected.ids);
      }),
      { numRuns: 500 },
    );
  });
});

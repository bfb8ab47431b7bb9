/**
 * Issue #11: no request can stall, exhaust or crash the gateway. Behaviour only (no timings): each bound is reached
 * and named, expensive evaluations answer exactly what the engine answers, and /metrics shows who is expensive.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatePolicy, compilePolicy } from "../../src/engine/index.js";
import { type Authoring, createApiKey, createTenant, post, startRunWorld, startTestGateway, type TestGateway, type TestTenant } from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
let viewKey: string;
let author: Authoring;

const LONG = "a".repeat(900_000);
const repeat = (n: number, condition: string): string => Array.from({ length: n }, () => condition).join(" and ");

beforeAll(async () => {
  ({ gateway, tenant, viewKey, author } = await startRunWorld());
});
afterAll(() => gateway?.stop());

describe("bounded evaluation through the REST shim", () => {
  it("stops patterns over a long string at the step budget: 400 with the full body naming maxSteps", async () => {
    const rule = `A **x** is ok if ${repeat(100, '__s__ of **x** matches pattern "[a-z]{0,990}[0]{2}"')}.`;
    const response = await post(gateway.url, "/run", { rule, data: { x: { s: LONG } } }, { key: viewKey });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("Evaluation error: evaluation exceeded the step budget of 1000000 (maxSteps)");
    expect(response.body.result).toBe(false);
    expect(response.body.trace.execution).toHaveLength(1);
  });

  it("stops an answer that would repeat a long value too often at maxAnswerBytes, before building it", async () => {
    const rule = `A **x** is ok if ${repeat(20, "__s__ of **x** is not empty")}.`;
    const response = await post(gateway.url, "/run", { rule, data: { x: { s: LONG } } }, { key: viewKey });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("Evaluation error: the answer would exceed 8000000 bytes (maxAnswerBytes)");
    // The partial trace holds only what was counted: far less than 20 copies of the value.
    expect(JSON.stringify(response.body).length).toBeLessThan(8_000_000 + 2 * LONG.length);
  });

  it("answers an evaluation that outgrows its in-line slice exactly as the engine does (worker pool)", async () => {
    // 15,000 elements: far more than the in-line slice, well within the budget and the answer bound.
    const rule = "A **o** is ok if any __items__ of **o** is equal to 14999.";
    const data = { o: { items: Array.from({ length: 15_000 }, (_, i) => i) } };
    const response = await post(gateway.url, "/run", { rule, data }, { key: viewKey });
    expect(response.status).toBe(200);
    const expected = evaluatePolicy(compilePolicy(rule), data);
    expect(response.body.result).toBe(true);
    expect(response.body.trace).toEqual(JSON.parse(JSON.stringify(expected.trace)));
    expect(response.body.data).toEqual(data);
    expect(response.body.labels).toBeNull();
  });

  it("answers a long rule compiled in the worker pool exactly as the engine does, parse errors included", async () => {
    // Over 2,048 characters: compiled in the pool rather than in line.
    const rule = `A **x** is ok if ${repeat(120, "__n__ of **x** is greater than 1")}.`;
    const data = { x: { n: 2 } };
    const response = await post(gateway.url, "/run", { rule, data }, { key: viewKey });
    expect(response.status).toBe(200);
    const expected = evaluatePolicy(compilePolicy(rule), data);
    expect(response.body.result).toBe(true);
    expect(response.body.trace).toEqual(JSON.parse(JSON.stringify(expected.trace)));
    expect(response.body.rule).toEqual(expected.rule);
    const broken = await post(gateway.url, "/run", { rule: `${rule} and and`, data }, { key: viewKey });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatch(/^Parse error: /);
  });

  it("answers a long flow text parsed in the worker pool like a short one, errors included", async () => {
    const policy = await author.policy("A **x** is ok if __n__ of **x** is greater than 1.", true);
    const start = Array.from({ length: 80 }, (_, i) => `    - id: n${i}\n      type: start\n      policyId: ${policy.baseId}\n`).join("");
    const flow = `flow:\n  start:\n${start}`;
    expect(flow.length).toBeGreaterThan(4_096);
    const ran = await post(gateway.url, "/flow/test", { flow, data: { x: { n: 2 } } }, { key: viewKey });
    expect(ran.status).toBe(200);
    expect(ran.body.nodeResponse).toHaveLength(80);
    expect(ran.body.nodeResponse[79].response.result).toBe(true);
    const short = await post(gateway.url, "/flow/test", { flow: "flow: [", data: {} }, { key: viewKey });
    const long = await post(gateway.url, "/flow/test", { flow: `${flow}  [`, data: {} }, { key: viewKey });
    expect(short.status).toBe(400);
    expect(long.status).toBe(short.status);
    expect(long.body).toEqual(short.body);
  });

  it("refuses a flow whose answer would be too large with FLOW_RESPONSE_TOO_LARGE, never 'nested too deeply'", async () => {
    const padded = await author.policy("A **x** is ok if __n__ of **x** is greater than 1.", true);
    const start = Array.from({ length: 550 }, (_, i) => `    - id: n${i}\n      type: start\n      policyId: ${padded.baseId}\n`).join("");
    const response = await post(gateway.url, "/flow/test", { flow: `flow:\n  start:\n${start}`, data: { x: { n: 2 }, pad: LONG } }, { key: viewKey });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("FLOW_RESPONSE_TOO_LARGE");
    expect(response.body.message).toMatch(/maxFlowResponseBytes/);
    expect(response.body.details).toMatchObject({ limit: "maxFlowResponseBytes" });
  });

  it("exports event-loop lag and evaluation time per tenant on /metrics", async () => {
    await post(gateway.url, "/run", { rule: "A **u** is ok if __a__ of **u** is equal to 1.", data: { u: { a: 1 } } }, { key: viewKey });
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    const line = text.split("\n").find((l) => l.startsWith(`verdict_evaluation_cpu_seconds_total{tenant="${tenant.id}"}`));
    expect(line).toBeDefined();
    expect(Number(line!.split(" ").pop())).toBeGreaterThan(0);
  });
});

describe("the evaluation deadline", () => {
  let strict: TestGateway;
  beforeAll(async () => {
    strict = await startTestGateway({ EVALUATION_DEADLINE_MS: "10" });
  });
  afterAll(() => strict?.stop());

  it("stops an evaluation that runs past EVALUATION_DEADLINE_MS and names the setting", async () => {
    const key = (await createApiKey(strict.database.prisma, (await createTenant(strict.database.prisma, {})).id, ["VIEW"])).key;
    // Within the step budget but far more than 10 ms of work: 500 lookups into 10 wide objects.
    const objects = Object.fromEntries(
      Array.from({ length: 10 }, (_, o) => [`o${o}`, Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]))]),
    );
    const rule = `A **x** is ok if ${Array.from({ length: 500 }, (_, i) => `__missing ${i}__ of **o${i % 10}** of **x** exists`).join(" and ")}.`;
    const response = await post(strict.url, "/run", { rule, data: { x: objects } }, { key });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("Evaluation error: evaluation exceeded its deadline of 10 ms (EVALUATION_DEADLINE_MS)");
  });
});

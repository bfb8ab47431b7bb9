import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlowTestRequest, RunDataRequest, RunRuleRequest } from "../../src/rest/schemas.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, CREDIT_POLICY, loanFlow, post } from "../support/kit.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

let gateway: TestGateway;
let tenant: TestTenant;
let document: any;
let ajv: Ajv2020;
const keys: Record<string, string> = {};
const DOC_ID = "https://verdict.invalid/openapi.json";

beforeAll(async () => {
  gateway = await startTestGateway({ RATE_LIMIT_PER_MINUTE: "100000" });
  tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
  keys.view = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  keys.audit = (await createApiKey(gateway.database.prisma, tenant.id, ["AUDIT"])).key;
  const response = await fetch(`${gateway.url}/openapi.json`);
  expect(response.status).toBe(200);
  document = await response.json();
  // The document itself is the schema resource: its `#/components/schemas/…` references resolve inside it.
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: DOC_ID });
});
afterAll(() => gateway?.stop());

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** Validates a real response against the document's schema for that route and status. */
function expectConforms(route: string, status: number, body: unknown, headers?: Headers) {
  const response = document.paths[route]?.post?.responses?.[String(status)];
  expect(response, `${route} ${status} is documented`).toBeDefined();
  const ref = `${DOC_ID}#/${pointer("paths", route, "post", "responses", String(status), "content", "application/json", "schema")}`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  const ok = validate(body);
  expect(ok, `${route} ${status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`).toBe(true);
  for (const [name, header] of Object.entries<{ required?: boolean }>(response.headers ?? {})) {
    if (header.required !== false) expect(headers?.get(name), `${route} ${status} header ${name}`).toBeTruthy();
  }
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document of the six routes, with the API key scheme and the wire schemas", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths).sort()).toEqual([
      "/flow/test",
      "/run",
      "/run/flow/{baseId}",
      "/run/flow_version/{flowId}",
      "/run/policy/{baseId}",
      "/run/policy_version/{policyId}",
    ]);
    expect(document.components.securitySchemes.apiKey).toEqual({ type: "apiKey", in: "header", name: "x-api-key" });
    for (const name of ["RunRuleRequest", "RunDataRequest", "FlowTestRequest", "PolicyResponse", "FlowResponse", "Error", "FlowError"]) {
      expect(document.components.schemas[name], name).toBeDefined();
    }
    expect(document.components.schemas.RunRuleRequest.required).toEqual(["rule", "data"]);
    // Every schema in the document compiles under JSON Schema 2020-12.
    for (const name of Object.keys(document.components.schemas)) {
      expect(() => ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` }), name).not.toThrow();
    }
  });

  it("accepts and refuses the same request bodies as the routes' own zod schemas", () => {
    const bodies = [
      { rule: "x", data: {} },
      { rule: "x", data: {}, tests: [], schema: {} },
      { data: {} },
      { data: {}, flow: "flow: {}" },
      { rule: 1, data: {} },
      { data: [1] },
      { data: null },
      {},
      [],
    ];
    for (const [name, schema] of [
      ["RunRuleRequest", RunRuleRequest],
      ["RunDataRequest", RunDataRequest],
      ["FlowTestRequest", FlowTestRequest],
    ] as const) {
      const validate = ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` });
      for (const body of bodies) expect(validate(body), `${name} ${JSON.stringify(body)}`).toBe(schema.safeParse(body).success);
    }
  });
});

describe("real responses conform to the document", () => {
  it("policy routes: 200, 400 (evaluation and validation), 401, 403, 404, 413, 415", async () => {
    const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
    const policy = await author.policy(op.AGE_POLICY, true);
    const labelled = await author.policy(
      "A **Person** gets a loan if the **Person** passes the age check.\nage_check. A **Person** passes the age check if __age__ of **Person** is at least 18.",
      true,
    );
    const cases: [string, unknown, string | undefined, number][] = [
      ["/run", { rule: op.AGE_POLICY, data: { Person: { age: 30 } } }, keys.view, 200],
      ["/run", { rule: "A **user** passes if.", data: {} }, keys.view, 400],
      ["/run", { rule: "A **S** is ok if __a__ of **S** / __b__ of **S** is greater than 1.", data: { S: { a: 1, b: 0 } } }, keys.view, 400],
      ["/run", { rule: op.AGE_POLICY }, keys.view, 400],
      ["/run", { rule: op.AGE_POLICY, data: {} }, undefined, 401],
      ["/run", { rule: op.AGE_POLICY, data: {} }, keys.audit, 403],
      ["/run", { rule: op.AGE_POLICY, data: { blob: "x".repeat(1_100_000) } }, keys.view, 413],
      [`/run/policy/${policy.baseId}`, { data: { Person: { age: 10 } } }, keys.view, 200],
      [`/run/policy/${labelled.baseId}`, { data: { Person: { age: 40 } } }, keys.view, 200],
      [`/run/policy/${policy.baseId}`, { data: 3 }, keys.view, 400],
      ["/run/policy/nope", { data: {} }, keys.view, 404],
      [`/run/policy_version/${policy.recordId}`, { data: { Person: {} } }, keys.view, 200],
      ["/run/policy_version/nope", { data: {} }, keys.view, 404],
    ];
    for (const [path, body, key, status] of cases) {
      const response = await post(gateway.url, path, body, { key });
      expect(response.status, path).toBe(status);
      if (status === 200) {
        // The check has teeth: a body missing a field, or with a number for a timing string, does not conform.
        const { execution, ...withoutExecution } = response.body;
        const validate = ajv.compile({ $ref: `${DOC_ID}#/components/schemas/PolicyResponse` });
        expect(validate(withoutExecution)).toBe(false);
        expect(validate({ ...response.body, execution: { ...execution, engine: 12 } })).toBe(false);
        expect(validate({ ...response.body, surprise: true })).toBe(false);
      }
      const route = path.startsWith("/run/policy/")
        ? "/run/policy/{baseId}"
        : path.startsWith("/run/policy_version/")
          ? "/run/policy_version/{policyId}"
          : path;
      expectConforms(route, status, response.body, response.headers);
    }
    const compressed = await post(gateway.url, "/run", { rule: op.AGE_POLICY, data: {} }, { key: keys.view, headers: { "content-encoding": "gzip" } });
    expect(compressed.status).toBe(415);
    expectConforms("/run", 415, compressed.body, compressed.headers);
  });

  it("flow routes: 200, 400 (each flow error code), 401, 403, 404", async () => {
    const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
    const age = await author.policy(op.AGE_POLICY, true);
    const credit = await author.policy(CREDIT_POLICY, true);
    const flow = await author.flow(loanFlow(age.baseId, credit.recordId), true);
    const data = { Person: { age: 30, score: 10 } };
    const cases: [string, string, unknown, string | undefined, number][] = [
      ["/run/flow/{baseId}", `/run/flow/${flow.baseId}`, { data }, keys.view, 200],
      ["/run/flow/{baseId}", "/run/flow/nope", { data }, keys.view, 404],
      ["/run/flow/{baseId}", `/run/flow/${flow.baseId}`, { data: "x" }, keys.view, 400],
      ["/run/flow_version/{flowId}", `/run/flow_version/${flow.recordId}`, { data: { Person: { age: 1 } } }, keys.view, 200],
      ["/run/flow_version/{flowId}", `/run/flow_version/${flow.recordId}`, { data }, keys.audit, 403],
      ["/run/flow_version/{flowId}", `/run/flow_version/${flow.recordId}`, { data }, undefined, 401],
      ["/flow/test", "/flow/test", { data, flow: loanFlow(age.recordId, credit.baseId) }, keys.view, 200],
      ["/flow/test", "/flow/test", { data, flow: "flow: [" }, keys.view, 400],
      ["/flow/test", "/flow/test", { data, flow: "flow:\n  start:\n    - id: s\n      type: start\n" }, keys.view, 400],
      ["/flow/test", "/flow/test", { data, flow: "flow:\n  start:\n    - id: s\n      type: odd\n" }, keys.view, 400],
      ["/flow/test", "/flow/test", { data, flow: loanFlow(age.baseId, "missing") }, keys.view, 404],
    ];
    for (const [route, path, body, key, status] of cases) {
      const response = await post(gateway.url, path, body, { key });
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expectConforms(route, status, response.body, response.headers);
    }
  });

  it("rate limiting: 429 with Retry-After", async () => {
    const limited = await startTestGateway({ RATE_LIMIT_PER_MINUTE: "1" });
    try {
      const t = await createTenant(limited.database.prisma, {});
      const { key } = await createApiKey(limited.database.prisma, t.id, ["VIEW"]);
      const body = { rule: op.AGE_POLICY, data: {} };
      let response = await post(limited.url, "/run", body, { key });
      // The one allowed request may fall in the previous window; within two requests the limit bites.
      if (response.status === 200) response = await post(limited.url, "/run", body, { key });
      if (response.status === 200) response = await post(limited.url, "/run", body, { key });
      expect(response.status).toBe(429);
      expectConforms("/run", 429, response.body, response.headers);
    } finally {
      await limited.stop();
    }
  });
});

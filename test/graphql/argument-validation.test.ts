import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { type Document, graphql, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

/**
 * Issue #12.5 and #12.8: text that cannot be stored (NUL, unpaired surrogates) and arguments that break their
 * constraints are BAD_USER_INPUT naming each invalid field in `extensions.details.fields`, never an internal
 * error; inline JSON arguments (null-prototype objects) are values, not input classes to validate.
 */
let gateway: TestGateway;
let tenant: TestTenant;
let adminHeaders: Record<string, string>;
let viewKeyHeaders: Record<string, string>;
const logs: { level: number }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  gateway = await startTestGateway({}, undefined, pino({ level: "info" }, sink));
  tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"] });
  adminHeaders = { authorization: `Bearer ${await gateway.tokenFor(tenant.users.ada!.subject)}` };
  viewKeyHeaders = { "x-api-key": (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key };
});
afterAll(() => gateway?.stop());

const NUL = "a\u0000b";
const LONE_HIGH = "a\uD800b";
const LONE_LOW = "\uDC00";

describe("text that cannot be stored is refused where it enters, naming the field", () => {
  const policy = (overrides: Record<string, unknown>) => ({ name: "p", content: op.AGE_POLICY, ...overrides });
  const cases: [string, Document, Record<string, unknown>, "admin" | "viewKey", string][] = [
    ["a name", op.CREATE_POLICY, { input: policy({ name: NUL }) }, "admin", "input.name"],
    ["content", op.CREATE_POLICY, { input: policy({ content: LONE_HIGH }) }, "admin", "input.content"],
    ["a description", op.CREATE_POLICY, { input: policy({ description: LONE_LOW }) }, "admin", "input.description"],
    ["a stored test's name", op.CREATE_POLICY, { input: policy({ tests: [{ name: NUL, data: {}, expected: true }] }) }, "admin", "input.tests.0.name"],
    [
      "a stored test's data",
      op.CREATE_POLICY,
      { input: policy({ tests: [{ name: "t", data: { x: [LONE_HIGH] }, expected: true }] }) },
      "admin",
      "input.tests.0.data.x.0",
    ],
    ["an input schema", op.CREATE_POLICY, { input: policy({ inputSchema: { type: "object", title: NUL } }) }, "admin", "input.inputSchema.title"],
    ["an input schema's key", op.CREATE_POLICY, { input: policy({ inputSchema: { [NUL]: 1 } }) }, "admin", `input.inputSchema.${NUL}`],
    [
      "a key name",
      "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secretShownOnce } }",
      { input: { name: NUL, scopes: ["VIEW"] } },
      "admin",
      "input.name",
    ],
    ["a listing filter, with only a VIEW key", op.BASES, { filter: { nameContains: NUL } }, "viewKey", "filter.nameContains"],
    ["a rule to validate", "query($rule: String!) { validateRule(rule: $rule) { ok } }", { rule: LONE_LOW }, "viewKey", "rule"],
  ];

  it.each(cases)("%s", async (_name, query, variables, who, field) => {
    const before = logs.length;
    const response = await graphql(gateway.url, query, variables, who === "admin" ? adminHeaders : viewKeyHeaders);
    expect(response.errors, JSON.stringify(response)).toHaveLength(1);
    const [error] = response.errors!;
    expect(error!.extensions?.code).toBe("BAD_USER_INPUT");
    expect(error!.message).toContain(field);
    expect(error!.extensions?.details).toMatchObject({ field, fields: [{ field, problems: [expect.stringMatching(/NUL|surrogate/)] }] });
    expect(logs.slice(before).filter((line) => line.level >= 50)).toEqual([]);
  });

  it("accepts well-formed text, surrogate pairs included", async () => {
    const response = await graphql(gateway.url, op.CREATE_POLICY, { input: policy({ name: "emoji 😀", description: "ok" }) }, adminHeaders);
    expect(response.errors).toBeUndefined();
    expect(response.data.createPolicy.base.name).toBe("emoji 😀");
  });
});

describe("validation errors name every invalid field", () => {
  it("lists each broken constraint of an input object under its path", async () => {
    const response = await graphql(
      gateway.url,
      op.CREATE_POLICY,
      { input: { name: "", content: op.AGE_POLICY, description: "x".repeat(10_001) } },
      adminHeaders,
    );
    expect(response.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const details = response.errors?.[0]?.extensions?.details as { fields: { field: string }[] } | undefined;
    const fields = (details?.fields ?? []).map((f) => f.field).sort();
    expect(fields).toEqual(["input.description", "input.name"]);
  });

  it("names the argument of an @Args() class by itself", async () => {
    const response = await graphql(gateway.url, op.BASES, { first: 100_000 }, adminHeaders);
    expect(response.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(response.errors?.[0]?.extensions?.details).toMatchObject({ field: "first" });
  });
});

describe("inline JSON arguments", () => {
  it("runs a rule with inline nested data and echoes it", async () => {
    const response = await graphql(
      gateway.url,
      `mutation { runRule(rule: ${JSON.stringify(op.AGE_POLICY)}, data: {Person: {age: 30, tags: ["a", {b: 1}]}, x: {a: 1}}) { result error data } }`,
      {},
      viewKeyHeaders,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.runRule).toEqual({ result: true, error: null, data: { Person: { age: 30, tags: ["a", { b: 1 }] }, x: { a: 1 } } });
  });

  it("stores inline tests and input schemas", async () => {
    const response = await graphql(
      gateway.url,
      `mutation { createPolicy(input: {name: "inline", content: ${JSON.stringify(op.AGE_POLICY)}, inputSchema: {type: "object"}, tests: [{name: "adult", data: {Person: {age: 30}}, expected: true}]}) { inputSchema tests { name data expected } } }`,
      {},
      adminHeaders,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.createPolicy).toEqual({ inputSchema: { type: "object" }, tests: [{ name: "adult", data: { Person: { age: 30 } }, expected: true }] });
  });
});

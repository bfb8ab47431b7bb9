import { afterAll, beforeAll, expect, it } from "vitest";
import { ExactJson, hasInexactNumber, stringifyWithExactJson } from "../../src/shared/exact-numbers.js";
import { createApiKey, createTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, CREDIT_POLICY, loanFlow } from "../support/kit.js";

/**
 * Issue #12.2 (product.md §7): `data` comes back with exactly the digits the client sent, while the language
 * still compares doubles (docs/language.md): on the REST policy and flow routes, and in GraphQL run results
 * whether `data` arrives as a variable or as an inline literal.
 */
let gateway: TestGateway;
let key: string;
let token: string;
let storedBaseId: string;
let flowBaseId: string;
let flowYaml: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  const tenant = await createTenant(gateway.database.prisma, { pat: ["PUBLISHER"] });
  key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  token = await gateway.tokenFor(tenant.users.pat!.subject);
  const author = authoring(gateway, token);
  storedBaseId = (await author.policy(op.AGE_POLICY, true)).baseId;
  flowYaml = loanFlow(storedBaseId, (await author.policy(CREDIT_POLICY, true)).baseId);
  flowBaseId = (await author.flow(flowYaml, true)).baseId;
});
afterAll(() => gateway?.stop());

// Written as text: JSON.stringify could not even produce most of these.
const NUMBERS = [
  '"max":9223372036854775807',
  '"min":-9223372036854775807',
  '"twoTo64":18446744073709551616',
  '"snowflake":1541815603606036481',
  '"huge":1e400',
  '"tenth":0.1000000000000000055511151231257827',
  '"negativeZero":-0',
  '"spelled":[1.0,2.50,1E3]',
  '"plain":[1,2.5,-3,"1541815603606036481"]',
].join(",");

async function run(path: string, bodyText: string): Promise<{ status: number; text: string; body: any }> {
  const response = await fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": key }, body: bodyText });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

it("echoes every number with the digits sent, on unsaved and stored runs", async () => {
  // age 18.0000000000000000001 is the double 18: not greater than 18, though its digits come back unchanged.
  const data = `{"Person":{"age":18.0000000000000000001},${NUMBERS}}`;
  for (const [path, bodyText] of [
    ["/run", `{"rule":${JSON.stringify(op.AGE_POLICY)},"data":${data}}`],
    [`/run/policy/${storedBaseId}`, `{"data":${data}}`],
  ] as const) {
    const { status, text, body } = await run(path, bodyText);
    expect(status, path).toBe(200);
    expect(text, path).toContain(`"data":${data},"error"`);
    expect(body.result, path).toBe(false);
  }
});

/** Every `"data":` member of the answer text, each of which must be the data exactly as sent. */
const echoes = (text: string) => text.split('"data":').slice(1);

it("echoes every number with the digits sent in every node of a flow run", async () => {
  // age 18.0000000000000000001 is the double 18: the age policy is false, so the flow returns false.
  const data = `{"Person":{"age":18.0000000000000000001,"score":700},${NUMBERS}}`;
  for (const [path, bodyText] of [
    [`/run/flow/${flowBaseId}`, `{"data":${data}}`],
    ["/flow/test", `{"flow":${JSON.stringify(flowYaml)},"data":${data}}`],
  ] as const) {
    const { status, text, body } = await run(path, bodyText);
    expect(status, path).toBe(200);
    expect(body.result, path).toBe(false);
    expect(body.nodeResponse.length, path).toBeGreaterThan(0);
    const echoed = echoes(text);
    expect(echoed.length, path).toBe(body.nodeResponse.filter((node: any) => node.response.data != null).length);
    for (const echo of echoed) expect(echo.startsWith(`${data},"error"`), path).toBe(true);
  }
});

async function graphqlText(query: string, variablesText: string): Promise<{ text: string; body: any }> {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: `{"query":${JSON.stringify(query)},"variables":${variablesText}}`,
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = JSON.parse(text);
  expect(body.errors, text).toBeUndefined();
  return { text, body };
}

/** The same data as a GraphQL input literal: names unquoted, numbers as written. */
const asLiteral = (json: string) => json.replace(/"(\w+)":/g, "$1:");

it("echoes every number with the digits sent in GraphQL run results, from variables and inline literals", async () => {
  const data = `{"Person":{"age":18.0000000000000000001,"score":700},${NUMBERS}}`;
  const policyFields = "{ data result error }";
  const flowFields = "{ result nodeResponse { response } }";
  const cases: { name: string; query: string; variables: string; fields: string }[] = [];
  for (const [name, call, args, fields] of [
    ["runRule", "runRule", `rule: ${JSON.stringify(op.AGE_POLICY)}`, policyFields],
    ["runPolicy", "runPolicy", `baseId: "${storedBaseId}"`, policyFields],
    ["runFlow", "runFlow", `baseId: "${flowBaseId}"`, flowFields],
    ["testFlow", "testFlow", `definition: ${JSON.stringify(flowYaml)}`, flowFields],
  ] as const) {
    cases.push({
      name: `${name} (variables)`,
      query: `mutation($data: JSONObject!) { ${call}(${args}, data: $data) ${fields} }`,
      variables: `{"data":${data}}`,
      fields,
    });
    cases.push({ name: `${name} (inline)`, query: `mutation { ${call}(${args}, data: ${asLiteral(data)}) ${fields} }`, variables: "{}", fields });
  }
  for (const { name, query, variables, fields } of cases) {
    const { text, body } = await graphqlText(query, variables);
    const result = Object.values(body.data)[0] as any;
    expect(result.result, name).toBe(false);
    if (fields === policyFields) expect(result.error, name).toBeNull();
    // The first `"data":` is GraphQL's own envelope; every other is an echo.
    const echoed = echoes(text).slice(1);
    const expected = fields === policyFields ? 1 : result.nodeResponse.filter((node: any) => node.response.data != null).length;
    expect(echoed.length, name).toBe(expected);
    expect(expected, name).toBeGreaterThan(0);
    for (const echo of echoed) expect(echo.startsWith(`${data},`), `${name}: ${text}`).toBe(true);
  }
});

it("compares doubles in the language while echoing the digits", async () => {
  const rule = "A **Thing** gets approved if __id__ of **Thing** is equal to 1541815603606036480.";
  const data = '{"Thing":{"id":1541815603606036481}}';
  const { text, body } = await run("/run", `{"rule":${JSON.stringify(rule)},"data":${data}}`);
  expect(body.error).toBeNull();
  expect(body.result).toBe(true); // the same double
  expect(text).toContain(`"data":${data}`);
});

it("recognises which numbers need their source text", () => {
  for (const exact of ['{"a":1,"b":-2.5,"c":"1e400 in a string","d":[0,10,100]}', '{"s":"-0 \\" 1.0"}']) expect(hasInexactNumber(exact), exact).toBe(false);
  for (const inexact of ['{"a":-0}', '{"a":1.0}', '{"a":1e400}', '{"a":18446744073709551616}', '{"a":"x\\"","b":[1E3]}'])
    expect(hasInexactNumber(inexact), inexact).toBe(true);
});

it("writes an exact echo as its text where the answer is written, and as its value anywhere else", () => {
  const echo = { data: new ExactJson('{"amount":0.10000000000000000001}') };
  expect(stringifyWithExactJson(echo)).toBe('{"data":{"amount":0.10000000000000000001}}');
  // A plain JSON.stringify (a log line) has nothing to swap a placeholder back: the value, as doubles.
  expect(JSON.stringify(echo)).toBe('{"data":{"amount":0.1}}');
});

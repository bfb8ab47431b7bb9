import { afterAll, beforeAll, expect, it } from "vitest";
import { hasInexactNumber } from "../../src/rest/exact-numbers.js";
import { createApiKey, createTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring } from "./support.js";

/**
 * Issue #12.2 (product.md §7): `data` comes back with exactly the digits the client sent, while the language
 * still compares doubles (docs/language.md).
 */
let gateway: TestGateway;
let key: string;
let storedBaseId: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  const tenant = await createTenant(gateway.database.prisma, { pat: ["PUBLISHER"] });
  key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  storedBaseId = (await authoring(gateway, await gateway.tokenFor(tenant.users.pat!.subject)).policy(op.AGE_POLICY, true)).baseId;
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
  for (const inexact of ['{"a":-0}', '{"a":1.0}', '{"a":1e400}', '{"a":18446744073709551616}', '{"a":"x\\"","b":[1E3]}']) expect(hasInexactNumber(inexact), inexact).toBe(true);
});

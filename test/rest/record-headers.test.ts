import { afterAll, beforeAll, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, CREDIT_POLICY, loanFlow, post } from "../support/kit.js";

/** Issue #12.10 (product.md §7): stored-resource answers say which record ran, in headers old clients ignore. */
let gateway: TestGateway;
let tenant: TestTenant;
let key: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
  key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
});
afterAll(() => gateway?.stop());

const ran = (headers: Headers) => ({ recordId: headers.get("x-verdict-record-id"), version: headers.get("x-verdict-version") });

it("names the record and version that ran, and only the record for a draft", async () => {
  const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  const published = await author.policy(op.AGE_POLICY, true);
  const newerDraft = await author.newDraft(published.recordId, op.ADULT_POLICY);
  const draftOnly = await author.policy(CREDIT_POLICY, false);
  const broken = await author.policy("A **user** passes if.", false);
  const flow = await author.flow(loanFlow(published.baseId, draftOnly.baseId), true);
  const flowDraft = await author.flow(loanFlow(published.baseId, draftOnly.baseId), false);
  const data = { data: { Person: { age: 30, score: 700 } } };

  const cases: [string, unknown, number, { recordId: string | null; version: string | null }][] = [
    [`/run/policy/${published.baseId}`, data, 200, { recordId: published.recordId, version: "1" }],
    [`/run/policy_version/${published.recordId}`, data, 200, { recordId: published.recordId, version: "1" }],
    [`/run/policy_version/${newerDraft}`, data, 200, { recordId: newerDraft, version: null }],
    [`/run/policy/${draftOnly.baseId}`, data, 200, { recordId: draftOnly.recordId, version: null }],
    // A stored rule that fails to evaluate still ran that record.
    [`/run/policy/${broken.baseId}`, { data: { user: {} } }, 400, { recordId: broken.recordId, version: null }],
    [`/run/flow/${flow.baseId}`, data, 200, { recordId: flow.recordId, version: "1" }],
    [`/run/flow_version/${flow.recordId}`, data, 200, { recordId: flow.recordId, version: "1" }],
    [`/run/flow/${flowDraft.baseId}`, data, 200, { recordId: flowDraft.recordId, version: null }],
    // Nothing stored ran: no headers.
    ["/run", { rule: op.AGE_POLICY, ...data }, 200, { recordId: null, version: null }],
    ["/flow/test", { ...data, flow: loanFlow(published.baseId, draftOnly.baseId) }, 200, { recordId: null, version: null }],
    [`/run/policy/${published.baseId}`, { data: 3 }, 400, { recordId: null, version: null }],
    ["/run/policy/00000000-0000-4000-8000-000000000000", data, 404, { recordId: null, version: null }],
  ];
  for (const [path, body, status, expected] of cases) {
    const response = await post(gateway.url, path, body, { key });
    expect(response.status, path).toBe(status);
    expect(ran(response.headers), path).toEqual(expected);
  }
});

it("lists both headers in the OpenAPI document for the stored routes' 200 answers", async () => {
  const document = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as any;
  for (const route of ["/run/policy/{baseId}", "/run/policy_version/{policyId}", "/run/flow/{baseId}", "/run/flow_version/{flowId}"]) {
    const headers = document.paths[route].post.responses["200"].headers;
    expect(headers["x-verdict-record-id"], route).toMatchObject({ required: true });
    expect(headers["x-verdict-version"], route).toMatchObject({ required: false });
  }
  for (const route of ["/run", "/flow/test"]) expect(document.paths[route].post.responses["200"].headers, route).toBeUndefined();
});

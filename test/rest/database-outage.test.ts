import { afterAll, beforeAll, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import type { TcpProxy } from "../support/tcp-proxy.js";
import { startGatewayBehindProxy, type ProxiedGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, loanFlow, post } from "../support/kit.js";

let behindProxy: ProxiedGateway;
let proxy: TcpProxy;
let gateway: TestGateway;
let tenant: TestTenant;

beforeAll(async () => {
  behindProxy = await startGatewayBehindProxy();
  ({ gateway, proxy } = behindProxy);
  tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
});
afterAll(() => behindProxy?.stop());

it("answers 503 {code, message} while the database is away, and serves again once it is back", async () => {
  const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  const policy = await author.policy(op.AGE_POLICY, true);
  const flow = await author.flow(loanFlow(policy.baseId, policy.baseId), true);
  const used = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  const fresh = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  const data = { data: { Person: { age: 30 } } };
  expect((await post(gateway.url, `/run/policy/${policy.baseId}`, data, { key: used })).status).toBe(200);
  expect((await post(gateway.url, `/run/flow/${flow.baseId}`, data, { key: used })).status).toBe(200);

  await proxy.cut();
  const attempts: [string, unknown, string][] = [
    [`/run/policy/${policy.baseId}`, data, used],
    [`/run/policy_version/${policy.recordId}`, data, used],
    [`/run/flow/${flow.baseId}`, data, used],
    [`/run/flow_version/${flow.recordId}`, data, used],
    // A key this process has never seen must be looked up.
    ["/run", { rule: op.AGE_POLICY, data: {} }, fresh],
    ["/flow/test", { data: {}, flow: loanFlow(policy.baseId, policy.baseId) }, fresh],
  ];
  for (const [path, body, key] of attempts) {
    const response = await post(gateway.url, path, body, { key });
    expect(response.status, path).toBe(503);
    expect(response.body, path).toEqual({ code: "DATABASE_UNAVAILABLE", message: expect.stringMatching(/database is unavailable/) });
  }

  await proxy.restore();
  await expect.poll(async () => (await post(gateway.url, `/run/policy/${policy.baseId}`, data, { key: fresh })).status, { timeout: 10_000 }).toBe(200);
  expect((await post(gateway.url, `/run/flow/${flow.baseId}`, data, { key: used })).status).toBe(200);
});

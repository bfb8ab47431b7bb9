import { afterAll, beforeAll, expect, it } from "vitest";
import { PublishDraftDocument } from "../../operations/__generated__/graphql.js";
import { verifyChain } from "../../src/modules/audit/audit-verifier.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import type { TcpProxy } from "../support/tcp-proxy.js";
import { graphqlClient, startGatewayBehindProxy, type ProxiedGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, loanFlow, post } from "../support/kit.js";

/**
 * The durable run path waits for Postgres on every request, so each round trip on it is latency every client
 * pays: a warm run (key, record and chain head known) makes exactly two, the catch-up with announcements its
 * key's lookup waits for (which the record's lookup shares) and the audit batch its event joins.
 */
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

const quietMoment = () => new Promise((resolve) => setTimeout(resolve, 50));

it("a warm run of a stored policy or flow, also after a quiet moment, costs one catch-up and one audit statement", async () => {
  const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  const policy = await author.policy(op.AGE_POLICY, true);
  const flow = await author.flow(loanFlow(policy.baseId, policy.baseId), true);
  const key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  const data = { data: { Person: { age: 30 } } };
  for (const path of [`/run/policy/${policy.baseId}`, `/run/flow/${flow.baseId}`]) {
    // The fewest of three tries: on a loaded machine a cached row may just have reached its age limit (10 s).
    const counts: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      for (let i = 0; i < 2; i++) expect((await post(gateway.url, path, data, { key })).status).toBe(200);
      await quietMoment();
      const before = proxy.statements;
      expect((await post(gateway.url, path, data, { key })).status).toBe(200);
      counts.push(proxy.statements - before);
    }
    expect(Math.min(...counts), `${path}: ${counts.join(", ")}`).toBe(2);
  }
});

it("a run after an audited change runs the new version and keeps one unbroken chain", async () => {
  const token = await gateway.tokenFor(tenant.users.publisher!.subject);
  const author = authoring(gateway, token);
  const policy = await author.policy(op.AGE_POLICY, true);
  const key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  const path = `/run/policy/${policy.baseId}`;
  const data = { data: { Person: { age: 30 } } };
  expect((await post(gateway.url, path, data, { key })).headers.get("x-verdict-version")).toBe("1");
  // Publishing appends its own events, so the head this process remembers is stale by one change.
  const draftId = await author.newDraft(policy.recordId, op.AGE_POLICY.replace("18", "40"));
  const published = await graphqlClient(gateway).as({ token })(PublishDraftDocument, { input: { draftId, description: "v2" } });
  expect(published.errors).toBeUndefined();
  const after = await post(gateway.url, path, data, { key });
  expect(after.status).toBe(200);
  expect(after.headers.get("x-verdict-version")).toBe("2");
  expect(after.body).toMatchObject({ result: false });
  expect(await verifyChain(gateway.services.stores.audit, tenant.id)).toMatchObject({ valid: true });
});

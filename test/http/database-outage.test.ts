import { afterAll, beforeAll, expect, it } from "vitest";
import type { TcpProxy } from "../support/tcp-proxy.js";
import { errorCodes, graphql, startGatewayBehindProxy, type ProxiedGateway, type TestGateway } from "../support/gateway.js";

let behindProxy: ProxiedGateway;
let proxy: TcpProxy;
let gateway: TestGateway;

beforeAll(async () => {
  behindProxy = await startGatewayBehindProxy();
  ({ gateway, proxy } = behindProxy);
});
afterAll(() => behindProxy?.stop());

const versionQuery = "{ version { database } }";

it("fails fast with SERVICE_UNAVAILABLE and 503 while the database is away, and recovers by itself", async () => {
  expect((await graphql(gateway.url, versionQuery)).data?.version.database).toMatch(/PostgreSQL/);

  await proxy.cut();

  const started = performance.now();
  const duringOutage = await graphql(gateway.url, versionQuery);
  const elapsedMs = performance.now() - started;
  expect(errorCodes(duringOutage)).toEqual(["SERVICE_UNAVAILABLE"]);
  expect(duringOutage.errors?.[0]?.message).toMatch(/database is unavailable/);
  // The acceptance bound of the issue ("within a second"), with margin for a loaded CI machine.
  expect(elapsedMs).toBeLessThan(2_500);

  const ready = await fetch(`${gateway.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ status: "unready", reason: "database unavailable" });
  expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);

  await proxy.restore();

  await expect.poll(async () => (await fetch(`${gateway.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
  const afterwards = await graphql(gateway.url, versionQuery);
  expect(afterwards.errors).toBeUndefined();
  expect(afterwards.data?.version.database).toMatch(/PostgreSQL/);
});

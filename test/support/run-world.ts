import { type Authoring, authoring } from "./authoring.js";
import { createApiKey, createTenant, type TestTenant } from "./fixtures.js";
import { startTestGateway, type TestGateway } from "./gateway.js";

/** What the execution tests run against: a gateway, a tenant whose publisher authors the bases, and its VIEW key. */
export interface RunWorld {
  gateway: TestGateway;
  tenant: TestTenant;
  /** A VIEW key of `tenant`, for the REST routes. */
  viewKey: string;
  /** The tenant's publisher, creating (and publishing) bases through the API. */
  author: Authoring;
}

export async function startRunWorld(overrides: Parameters<typeof startTestGateway>[0] = {}): Promise<RunWorld> {
  const gateway = await startTestGateway(overrides);
  const { prisma } = gateway.database;
  const tenant = await createTenant(prisma, { publisher: ["PUBLISHER"] });
  const viewKey = (await createApiKey(prisma, tenant.id, ["VIEW"])).key;
  const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  return { gateway, tenant, viewKey, author };
}

import type { TenantActor } from "../identity/actor.js";
import type { Services } from "../services.js";
import type { Loaders } from "../loaders.js";

export interface GraphQLContext {
  requestId: string;
  actor: TenantActor | null;
  services: Services;
  /** Created per request, so batching never mixes tenants or caches across requests. */
  loaders: Loaders;
}

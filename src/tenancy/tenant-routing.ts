import type { IncomingHttpHeaders } from "node:http";
import { DomainError, DomainErrorCode, unauthenticated } from "../errors/domain-error.js";
import type { RateLimiter } from "../http/rate-limit.js";
import type { TenantActor } from "../identity/actor.js";
import { parseApiKey } from "../identity/api-key-format.js";
import type { TokenVerifier } from "../identity/tokens.js";
import type { Services } from "../services.js";
import type { TenantDatabases } from "./tenant-databases.js";
import type { TenantGraph } from "./tenant-graph.js";

/** An authenticated request and the graph that serves its tenant. */
export interface RoutedRequest {
  actor: TenantActor;
  services: Services;
  /** The allowance is counted in the tenant's database: `http/rate-limit.ts` counts against this one. */
  limiter: RateLimiter;
  /** Call once the request (or subscription connection) is done, so an idle tenant database can be closed. */
  release(): void;
}

export interface RequestRouter {
  /**
   * Authenticates the credential in the headers in the database of the tenant it names: null when none was
   * sent; throws UNAUTHENTICATED for a bad one, SERVICE_UNAVAILABLE when the tenant's database cannot serve.
   * `arrivedAt` (`process.hrtime.bigint()` when the request arrived): the registry's and the key's cached rows
   * then share one catch-up with announcements instead of one each (announced-row-cache.ts).
   */
  route(headers: IncomingHttpHeaders, arrivedAt?: bigint): Promise<RoutedRequest | null>;
}

const noRelease = (): void => {};

/** Seconds a client is told to wait while its tenant is being moved (a move of a small tenant takes seconds). */
export const MOVING_RETRY_AFTER_SECONDS = 2;

/**
 * A tenant being moved (`tenant move`) is refused whole, reads included: 503 with Retry-After, before any
 * database of it is touched, so nothing is written to the database being copied (src/database/README.md).
 */
export const tenantMoving = (): DomainError =>
  new DomainError(DomainErrorCode.DatabaseUnavailable, "This organisation's data is being moved to another database; try again shortly", {
    retryAfterSeconds: MOVING_RETRY_AFTER_SECONDS,
  });

/**
 * Finds a request's tenant from its credential alone, in O(1), without asking any tenant database but the one
 * it names: an API key carries its tenant's ID (src/identity/api-key-format.ts), a token its `tenant` claim.
 * The control database's registry (cached, invalidated by NOTIFY) says whether that tenant is bound; a bound
 * tenant's key or user is then looked up in its own database only, and the answer must name that tenant.
 * Credentials that name no tenant (keys issued before the hint, tokens without the claim) are looked up in the
 * shared database, which refuses rows of bound tenants (fail closed).
 */
export function createRequestRouter(shared: TenantGraph, tenants: TenantDatabases, tokens: TokenVerifier): RequestRouter {
  const fromShared = async (headers: IncomingHttpHeaders, tenantId: string | null, arrivedAt?: bigint): Promise<RoutedRequest | null> => {
    const actor = await shared.authenticator.authenticate(headers, arrivedAt);
    if (actor && tenantId && actor.tenantId !== tenantId) throw unauthenticated("The credential names another tenant than its owner's");
    // A credential that named no tenant (an older key, a token without the claim): its tenant is known only now.
    // The registry row as last announced is enough here — a move drains for seconds after marking the tenant, far
    // longer than its announcement takes — so these requests pay no extra round trip.
    if (actor && !tenantId && (await tenants.recentRoute(actor.tenantId))?.moving) throw tenantMoving();
    return actor && { actor, services: shared.services, limiter: shared.rateLimiter, release: noRelease };
  };

  const fromTenant = async (headers: IncomingHttpHeaders, tenantId: string | null, arrivedAt?: bigint): Promise<RoutedRequest | null> => {
    const route = tenantId ? await tenants.route(tenantId, arrivedAt) : null;
    if (route?.moving) throw tenantMoving();
    if (!route?.binding) return fromShared(headers, tenantId, arrivedAt);
    const lease = await tenants.acquire({ id: route.id, binding: route.binding });
    try {
      const actor = await lease.graph.authenticator.authenticate(headers, arrivedAt);
      if (!actor) throw unauthenticated("No credential");
      if (actor.tenantId !== route.id) throw unauthenticated("The credential names another tenant than its owner's");
      return { actor, services: lease.graph.services, limiter: lease.graph.rateLimiter, release: lease.release };
    } catch (error) {
      lease.release();
      throw error;
    }
  };

  return {
    async route(headers, arrivedAt) {
      const apiKey = headers["x-api-key"];
      if (typeof apiKey === "string" && apiKey.length > 0) {
        const parsed = parseApiKey(apiKey.trim());
        if (!parsed) throw unauthenticated("The API key is malformed");
        return fromTenant({ "x-api-key": apiKey }, parsed.tenantId, arrivedAt);
      }
      const authorization = headers.authorization;
      if (!authorization) return null;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match?.[1]) throw unauthenticated("The Authorization header must be 'Bearer <token>'");
      let tenantId: string | null;
      try {
        tenantId = (await tokens.verify(match[1])).tenantId;
      } catch {
        throw unauthenticated("The bearer token is invalid or expired");
      }
      // The graph's authenticator verifies the token again: the verifier remembers it, so that is a map lookup.
      return fromTenant({ authorization }, tenantId, arrivedAt);
    },
  };
}

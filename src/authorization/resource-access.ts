import { forbidden, notFound } from "../errors/domain-error.js";
import type { Principal } from "../identity/principal.js";
import { Action } from "./actions.js";
import { mayPerform, requireAction } from "./authorize.js";

/** The facts about a base that access decisions depend on. */
export interface BaseAccessFacts {
  id: string;
  tenantId: string;
  ownership: "USER_OWNED" | "ORGANISATION_OWNED";
  ownerId: string | null;
  deletedAt: Date | null;
}

const isOwner = (principal: Principal, base: BaseAccessFacts): boolean =>
  principal.kind === "user" && base.ownerId === principal.userId;

/**
 * Whether a base exists for this principal at all. Foreign-tenant and deleted bases are indistinguishable
 * from missing ones, so the answer never leaks their existence.
 */
export function exists<T extends Pick<BaseAccessFacts, "tenantId" | "deletedAt">>(
  principal: Principal,
  base: T | null | undefined,
): base is T {
  return !!base && base.tenantId === principal.tenantId && base.deletedAt === null;
}

/**
 * Whose listings (bases, group members, the policies a flow may name when published) the principal sees:
 * its tenant's organisation-owned bases and, for a user, the never-published bases they own. The stores
 * turn this into their listing filter (src/stores/base.store.ts, `listedWhere` / `listedSql`).
 */
export function listingScopeOf(principal: Principal): { tenantId: string; userId: string | null } {
  return { tenantId: principal.tenantId, userId: principal.kind === "user" ? principal.userId : null };
}

/** Loading or running by ID: anyone in the tenant who may read (or run) — "has the link". */
export function requireBaseFor(principal: Principal, base: BaseAccessFacts | null | undefined, action: Action, id: string): BaseAccessFacts {
  if (!exists(principal, base)) throw notFound("Resource", id);
  requireAction(principal, action);
  if (action === Action.AuthorResources || action === Action.PublishResources) requireOwnershipRights(principal, base);
  return base;
}

/** Until its first publish, only the owner (or an admin) may change a base. */
function requireOwnershipRights(principal: Principal, base: BaseAccessFacts): void {
  if (base.ownership === "ORGANISATION_OWNED" || isOwner(principal, base)) return;
  if (mayPerform(principal, Action.DeleteResources)) return; // admins
  throw forbidden("Only the owner or an admin may change a base that has never been published");
}

export { Action };

import { forbidden, notFound } from "../errors/domain-error.js";
import { userIdOf, type TenantActor } from "../identity/actor.js";
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

/** A key owns what the user who issued it owns (src/rest/README.md, "Never-published bases"). */
const isOwner = (actor: TenantActor, base: BaseAccessFacts): boolean => base.ownerId !== null && base.ownerId === userIdOf(actor);

/**
 * Whether a base exists for this actor at all. Foreign-tenant and deleted bases are indistinguishable
 * from missing ones, so the answer never leaks their existence.
 */
export function exists<T extends Pick<BaseAccessFacts, "tenantId" | "deletedAt">>(actor: TenantActor, base: T | null | undefined): base is T {
  return !!base && base.tenantId === actor.tenantId && base.deletedAt === null;
}

/**
 * Whose listings (bases, group members, the policies a flow may name when published) the actor sees:
 * its tenant's organisation-owned bases and the never-published bases of the user it acts for (a key's issuer).
 * The stores turn this into their listing filter (src/stores/base.store.ts, `listedWhere` / `listedSql`).
 */
export function listingScopeOf(actor: TenantActor, { everyOwner = false } = {}): { tenantId: string; userId: string | null; everyOwner: boolean } {
  // Admins hold the ownership override (they may change any never-published base), so they may also list them
  // all — when they ask explicitly (`bases(filter: {allOwners: true})`).
  if (everyOwner) requireAction(actor, Action.DeleteResources);
  return { tenantId: actor.tenantId, userId: userIdOf(actor), everyOwner };
}

/** The same listing rule for a base already loaded (e.g. the flows a dependency scan found). */
export function isListedFor(actor: TenantActor, base: BaseAccessFacts): boolean {
  return exists(actor, base) && (base.ownership === "ORGANISATION_OWNED" || isOwner(actor, base));
}

/** Loading or running by ID: anyone in the tenant who may read (or run) — "has the link". */
export function requireBaseFor(actor: TenantActor, base: BaseAccessFacts | null | undefined, action: Action, id: string): BaseAccessFacts {
  if (!exists(actor, base)) throw notFound("Resource", id);
  requireAction(actor, action);
  if (action === Action.AuthorResources || action === Action.PublishResources || action === Action.OrganiseResources) {
    requireOwnershipRights(actor, base);
  }
  return base;
}

/** Until its first publish, only the owner (or an admin) may change a base. */
function requireOwnershipRights(actor: TenantActor, base: BaseAccessFacts): void {
  if (base.ownership === "ORGANISATION_OWNED" || isOwner(actor, base)) return;
  if (mayPerform(actor, Action.DeleteResources)) return; // admins
  throw forbidden("Only the owner or an admin may change a base that has never been published");
}

export { Action };

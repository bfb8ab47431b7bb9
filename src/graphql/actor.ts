import { Action } from "../authorization/actions.js";
import { requireAction } from "../authorization/authorize.js";
import { unauthenticated } from "../errors/domain-error.js";
import type { TenantActor } from "../identity/actor.js";
import type { GraphQLContext } from "./context.js";

/** The caller of a resolver; UNAUTHENTICATED when the request carried no credential. */
export function actorOf(ctx: GraphQLContext): TenantActor {
  if (!ctx.actor) throw unauthenticated();
  return ctx.actor;
}

/**
 * For nested fields that read data (a group's members, a base's groups, drafts and versions): the same
 * decision as root fields, by src/authorization. Shield wraps only root fields (see src/server/permissions.ts), so a
 * nested field states its action here.
 */
export function actorFor(ctx: GraphQLContext, action: Action): TenantActor {
  return requireAction(actorOf(ctx), action);
}

export { Action };

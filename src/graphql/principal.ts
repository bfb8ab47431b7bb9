import { unauthenticated } from "../errors/domain-error.js";
import type { Principal } from "../identity/principal.js";
import type { GraphQLContext } from "./context.js";

/** The authenticated caller; shield has already refused anonymous calls, this keeps the types honest. */
export function principalOf(ctx: GraphQLContext): Principal {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal;
}

import { type allow, rule, type IRule } from "graphql-shield";

type ShieldRule = IRule | typeof allow;
import type { Action } from "../authorization/actions.js";
import { mayPerform } from "../authorization/authorize.js";
import { forbidden, unauthenticated } from "../errors/domain-error.js";
import type { GraphQLContext } from "./context.js";

/** Shield rules are thin: each asks the one authorization module. Resource rules run in the services. */
export const isAuthenticated = rule({ cache: "contextual" })((_parent, _args, ctx: GraphQLContext) => (ctx.actor ? true : unauthenticated()));

const ruleCache = new Map<Action, IRule>();

/** The actor's roles or key scopes grant `action`. */
export function can(action: Action): IRule {
  let cached = ruleCache.get(action);
  if (!cached) {
    cached = rule(`can:${action}`, { cache: "contextual" })((_parent, _args, ctx: GraphQLContext) => {
      if (!ctx.actor) return unauthenticated();
      return mayPerform(ctx.actor, action) ? true : forbidden(`This requires permission to ${action.replace(/_/g, " ")}`);
    });
    ruleCache.set(action, cached);
  }
  return cached;
}

/** Root-field rules contributed by one module. */
export interface ModulePermissions {
  Query?: Record<string, ShieldRule>;
  Mutation?: Record<string, ShieldRule>;
  Subscription?: Record<string, ShieldRule>;
}

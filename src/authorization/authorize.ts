import { forbidden, unauthenticated } from "../errors/domain-error.js";
import type { Principal } from "../identity/principal.js";
import { Action, ROLE_ACTIONS, SCOPE_ACTIONS } from "./actions.js";

/** Whether the principal's roles (or key scopes) grant the action, before any resource rule. */
export function mayPerform(principal: Principal, action: Action): boolean {
  if (principal.kind === "user") return principal.roles.some((role) => ROLE_ACTIONS[role].has(action));
  return principal.scopes.some((scope) => SCOPE_ACTIONS[scope].has(action));
}

/** Throws UNAUTHENTICATED without a principal and FORBIDDEN when the action is not granted. */
export function requireAction(principal: Principal | null, action: Action): Principal {
  if (!principal) throw unauthenticated();
  if (!mayPerform(principal, action)) throw forbidden(`This requires permission to ${action.replace(/_/g, " ")}`);
  return principal;
}

export { Action };

import { forbidden, notFound } from "../errors/domain-error.js";
import type { Actor } from "../identity/actor.js";
import { Action, OPERATOR_ACTIONS, ROLE_ACTIONS, SCOPE_ACTIONS } from "./actions.js";

/**
 * Whether the actor may perform the action, before any resource rule: a user by its roles, an API key by its
 * scopes, the operator by OPERATOR_ACTIONS. The one decision behind shield rules (root fields), nested
 * GraphQL fields, REST routes, the services and the CLI.
 */
export function mayPerform(actor: Actor, action: Action): boolean {
  switch (actor.kind) {
    case "user":
      return actor.roles.some((role) => ROLE_ACTIONS[role].has(action));
    case "apiKey":
      return actor.scopes.some((scope) => SCOPE_ACTIONS[scope].has(action));
    case "operator":
      return OPERATOR_ACTIONS.has(action);
  }
}

/** FORBIDDEN when the action is not granted. Returns the actor, narrowed to what it was. */
export function requireAction<A extends Actor>(actor: A, action: Action): A {
  if (!mayPerform(actor, action)) throw forbidden(`This requires permission to ${action.replace(/_/g, " ")}`);
  return actor;
}

/**
 * An action on something of `tenantId` (a user, a key, the tenant itself): a caller of another tenant finds
 * nothing there (NOT_FOUND, so other tenants' IDs leak nothing); the operator reaches every tenant.
 */
export function requireActionIn(actor: Actor, tenantId: string, action: Action, missing: { what: string; id: string }): void {
  if (actor.kind !== "operator" && actor.tenantId !== tenantId) throw notFound(missing.what, missing.id);
  requireAction(actor, action);
}

export { Action };

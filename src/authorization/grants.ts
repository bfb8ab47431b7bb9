import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";
import type { Principal } from "../identity/principal.js";
import { Action, ROLE_ACTIONS, SCOPE_ACTIONS } from "./actions.js";
import { mayPerform } from "./authorize.js";

/**
 * "Nobody grants a role or scope they do not hold." A principal holds a role (or scope) when its own roles
 * or scopes already grant every action that role grants: an admin holds viewer, editor, publisher and admin,
 * but not auditor (reading the audit log is not an admin power). Decided on actions, so users and API keys
 * are judged by the same rule.
 */
const holdsAll = (principal: Principal, actions: ReadonlySet<Action>): boolean =>
  [...actions].every((action) => mayPerform(principal, action));

export const holdsRole = (principal: Principal, role: Role): boolean => holdsAll(principal, ROLE_ACTIONS[role]);

export const holdsScope = (principal: Principal, scope: ApiKeyScope): boolean => holdsAll(principal, SCOPE_ACTIONS[scope]);

/** The roles in `roles` the principal does not hold (empty when it may grant them all). */
export const rolesNotHeld = (principal: Principal, roles: readonly Role[]): Role[] => roles.filter((r) => !holdsRole(principal, r));

export const scopesNotHeld = (principal: Principal, scopes: readonly ApiKeyScope[]): ApiKeyScope[] =>
  scopes.filter((s) => !holdsScope(principal, s));

import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";
import type { Actor } from "../identity/actor.js";
import { type Action, ROLE_ACTIONS, SCOPE_ACTIONS } from "./actions.js";
import { mayPerform } from "./authorize.js";

/**
 * "Nobody grants a role or scope they do not hold." An actor holds a role (or scope) when its own roles
 * or scopes already grant every action that role grants: an admin holds viewer, editor, publisher and admin,
 * but not auditor (reading the audit log is not an admin power). Decided on actions, so users and API keys
 * are judged by the same rule.
 */
const holdsAll = (actor: Actor, actions: ReadonlySet<Action>): boolean => [...actions].every((action) => mayPerform(actor, action));

export const holdsRole = (actor: Actor, role: Role): boolean => holdsAll(actor, ROLE_ACTIONS[role]);

export const holdsScope = (actor: Actor, scope: ApiKeyScope): boolean => holdsAll(actor, SCOPE_ACTIONS[scope]);

/** The roles in `roles` the actor does not hold (empty when it may grant them all). */
export const rolesNotHeld = (actor: Actor, roles: readonly Role[]): Role[] => roles.filter((r) => !holdsRole(actor, r));

export const scopesNotHeld = (actor: Actor, scopes: readonly ApiKeyScope[]): ApiKeyScope[] => scopes.filter((s) => !holdsScope(actor, s));

import { compilePolicy, evaluatePolicy } from "../../engine/index.js";
import type { ApiKeyScope, ApprovalAction, Role } from "../../generated/prisma/enums.js";
import type { TenantActor } from "../../identity/actor.js";
import type { ApprovalPolicy } from "../../stores/approval-policy.store.js";

/** The facts about a change that a policy's `conditions` read (README, "Conditions"). */
export interface ChangeFacts {
  action: ApprovalAction;
  /** The base's facts; null for a change of no base (ASSIGN_ROLES, CREATE_API_KEY). */
  base: { name: string; kind: string; groups: string[]; tags: string[]; riskLevel: string | null } | null;
  actorRoles: Role[];
  size: number;
  /** ASSIGN_ROLES: the roles the change adds. */
  rolesAdded?: string[];
  /** CREATE_API_KEY: the key's scopes. */
  scopes?: string[];
}

const SCOPE_ROLE: Record<ApiKeyScope, Role> = { VIEW: "VIEWER", EDIT: "EDITOR", PUBLISH: "PUBLISHER", ADMIN: "ADMIN", AUDIT: "AUDITOR" };

/** The roles an actor acts with: a user's own, an API key's scopes read as the roles they mirror. */
export function rolesOf(actor: TenantActor): Role[] {
  return actor.kind === "user" ? [...actor.roles] : [...new Set(actor.scopes.map((scope) => SCOPE_ROLE[scope]))];
}

/**
 * The data a condition is evaluated against: `{ "Change": { … } }`, field names as the README documents them.
 * A change of no base has no base fields at all (not empty ones), so a condition on them is false, as for any
 * field the context lacks.
 */
export function changeContext(facts: ChangeFacts): Record<string, unknown> {
  const base = facts.base;
  return {
    Change: {
      action: facts.action,
      ...(base ? { "base name": base.name, kind: base.kind, groups: base.groups, tags: base.tags, "risk level": base.riskLevel ?? "" } : {}),
      "actor roles": facts.actorRoles,
      size: facts.size,
      ...(facts.rolesAdded ? { "roles added": facts.rolesAdded } : {}),
      ...(facts.scopes ? { scopes: facts.scopes } : {}),
    },
  };
}

/**
 * Whether a policy governs the change: no conditions, or conditions that evaluate to true (the engine's own
 * semantics: a field the context lacks makes its condition false). A condition whose evaluation fails (its
 * step budget, say) governs the change too: when in doubt, four eyes — an admin can correct the condition, but a
 * change that slipped through cannot be taken back.
 */
export function governs(policy: Pick<ApprovalPolicy, "conditions">, context: Record<string, unknown>): boolean {
  if (!policy.conditions) return true;
  const response = evaluatePolicy(compilePolicy(policy.conditions), context);
  return response.error !== null || response.result;
}

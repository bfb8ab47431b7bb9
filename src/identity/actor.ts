import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";

/**
 * Who is acting. Every service method takes one; nothing means "nobody" or "everybody" implicitly.
 * - a user or an API key: established from a credential alone, and acting inside its tenant (the tenant never
 *   comes from anything else the client sends);
 * - the operator: whoever runs the administration CLI against the database. It acts on any tenant it names,
 *   may perform every action (src/authorization/actions.ts) and is audited as `SYSTEM`.
 * A request without a credential has no actor: transports refuse it (UNAUTHENTICATED) before any service.
 */
export type Actor = TenantActor | OperatorActor;

/** A caller that arrived with a credential: it belongs to exactly one tenant. */
export type TenantActor =
  | { kind: "user"; tenantId: string; userId: string; roles: readonly Role[] }
  | {
      kind: "apiKey";
      tenantId: string;
      apiKeyId: string;
      scopes: readonly ApiKeyScope[];
      /**
       * The user who issued the key: the key acts on their behalf (src/rest/README.md, "Never-published bases"), within its own scopes. It owns
       * what the user owns, and what it creates belongs to that user. Null for keys an operator issued (CLI).
       */
      issuerId?: string | null;
    };

export interface OperatorActor {
  kind: "operator";
}

export const OPERATOR: OperatorActor = Object.freeze({ kind: "operator" });

/** How the audit log names the actor. */
export function auditActorOf(actor: Actor): { actorType: "USER" | "API_KEY" | "SYSTEM"; actorId: string | null } {
  switch (actor.kind) {
    case "user":
      return { actorType: "USER", actorId: actor.userId };
    case "apiKey":
      return { actorType: "API_KEY", actorId: actor.apiKeyId };
    case "operator":
      return { actorType: "SYSTEM", actorId: null };
  }
}

/** The user an actor acts for: to record as creator/editor/owner, and to decide ownership. The operator acts for no user. */
export const userIdOf = (actor: Actor): string | null => {
  switch (actor.kind) {
    case "user":
      return actor.userId;
    case "apiKey":
      return actor.issuerId ?? null;
    case "operator":
      return null;
  }
};

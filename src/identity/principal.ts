import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";

/** Who is calling, as established from the credential alone. Tenant never comes from anything else. */
export type Principal =
  | { kind: "user"; tenantId: string; userId: string; roles: readonly Role[] }
  | { kind: "apiKey"; tenantId: string; apiKeyId: string; scopes: readonly ApiKeyScope[] };

export const actorOf = (principal: Principal): { actorType: "USER" | "API_KEY"; actorId: string } =>
  principal.kind === "user"
    ? { actorType: "USER", actorId: principal.userId }
    : { actorType: "API_KEY", actorId: principal.apiKeyId };

/** The user id to record as creator/editor; API keys act for no user. */
export const userIdOf = (principal: Principal): string | null =>
  principal.kind === "user" ? principal.userId : null;

import { Action } from "../../authorization/actions.js";
import { requireAction, requireActionIn } from "../../authorization/authorize.js";
import { scopesNotHeld } from "../../authorization/grants.js";
import type { Database } from "../../database/database.js";
import { conflict, forbidden, invalidInput, notFound } from "../../errors/domain-error.js";
import type { ApiKeyScope } from "../../generated/prisma/enums.js";
import type { Connection } from "../../shared/keyset.js";
import { requireUuid } from "../../shared/ids.js";
import { issueApiKey } from "../../identity/api-key-format.js";
import { type Actor, type TenantActor, userIdOf } from "../../identity/actor.js";
import type { ApiKeyRow, IdentityStore } from "../../stores/identity.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";

export type { ApiKeyRow };

export interface NewApiKey {
  name: string;
  scopes: readonly ApiKeyScope[];
  expiresAt?: Date | null;
}

/** API keys: issued with scopes the issuer holds, stored hashed, revocable at once. */
export class ApiKeyService {
  constructor(
    private readonly database: Database,
    private readonly identities: IdentityStore,
  ) {}

  /** Returns the key row and the full key, which is never stored and never shown again. */
  async create(actor: Actor, tenantId: string, input: NewApiKey): Promise<{ apiKey: ApiKeyRow; secret: string }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw invalidInput("scopes", "name at least one scope");
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw invalidInput("expiresAt", "must lie in the future");
    requireActionIn(actor, tenantId, Action.ManageApiKeys, { what: "Tenant", id: tenantId });
    const missing = scopesNotHeld(actor, scopes);
    if (missing.length) throw forbidden(`You cannot grant scopes you do not hold: ${missing.join(", ")}`);
    const issued = issueApiKey(tenantId);
    const apiKey = await inTransaction(this.database, async (tx) => {
      const row = await this.identities.createKey(tx, {
        tenantId,
        name,
        prefix: issued.prefix,
        secretHash: issued.secretHash,
        scopes,
        expiresAt: input.expiresAt ?? null,
        createdById: userIdOf(actor),
      });
      await recordAuditEvent(tx, actor, tenantId, {
        action: "KEY_CREATED",
        resourceKind: "API_KEY",
        detail: { apiKeyId: row.id, name, prefix: row.prefix, scopes, expiresAt: row.expiresAt?.toISOString() ?? null },
      });
      return row;
    });
    return { apiKey, secret: issued.key };
  }

  /** Revokes a key of the tenant; the next request with it fails. Revoking a revoked key is a CONFLICT. */
  async revoke(actor: Actor, tenantId: string, apiKeyId: string): Promise<ApiKeyRow> {
    const id = requireUuid(apiKeyId, "API key");
    requireActionIn(actor, tenantId, Action.ManageApiKeys, { what: "API key", id: apiKeyId });
    return inTransaction(this.database, async (tx) => {
      const locked = await this.identities.lockKey(tx, tenantId, id);
      if (!locked) throw notFound("API key", apiKeyId);
      if (locked.revokedAt) throw conflict("The API key is already revoked", { id });
      const row = await this.identities.revokeKey(tx, id, userIdOf(actor));
      await recordAuditEvent(tx, actor, tenantId, {
        action: "KEY_REVOKED",
        resourceKind: "API_KEY",
        detail: { apiKeyId: row.id, name: row.name, prefix: row.prefix },
      });
      // Every process's key cache hears of it before it answers its next request (api-key-cache.ts).
      await this.identities.announceKeyChange(tx, row.prefix);
      return row;
    });
  }

  /** For operators: the key's tenant, found by id or by its public prefix. */
  async findForOperator(idOrPrefix: string): Promise<ApiKeyRow> {
    const row = await this.identities.findKey(idOrPrefix);
    if (!row) throw notFound("API key", idOrPrefix);
    return row;
  }

  /** The tenant's keys, newest first, without secrets. */
  async list(actor: TenantActor, first: number, after: string | null | undefined, includeRevoked: boolean): Promise<Connection<ApiKeyRow>> {
    requireAction(actor, Action.ManageApiKeys);
    return this.identities.listKeys(actor.tenantId, includeRevoked, { first, after });
  }
}

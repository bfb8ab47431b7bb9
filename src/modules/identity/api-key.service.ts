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
import { inTransaction, type Transaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { type ApprovalHook, appliedOnly, type Governed } from "../resources/approval-hook.js";

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

  /** Four-eyes changes (src/modules/approvals/README.md): keys issued by tenant actors; the CLI's operator is not governed. */
  approvals: ApprovalHook | null = null;

  /** Returns the key row and the full key, which is never stored and never shown again; CONFLICT when an approval policy governs it. */
  async create(actor: Actor, tenantId: string, input: NewApiKey): Promise<{ apiKey: ApiKeyRow; secret: string }> {
    return appliedOnly(await this.createOrRequest(actor, tenantId, input, { request: false }));
  }

  /** Issues the key, or records a pending change request when an approval policy governs it. */
  async createOrRequest(
    actor: Actor,
    tenantId: string,
    input: NewApiKey,
    options: { request: boolean },
  ): Promise<Governed<{ apiKey: ApiKeyRow; secret: string }>> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw invalidInput("scopes", "name at least one scope");
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw invalidInput("expiresAt", "must lie in the future");
    requireActionIn(actor, tenantId, Action.ManageApiKeys, { what: "Tenant", id: tenantId });
    const missing = scopesNotHeld(actor, scopes);
    if (missing.length) throw forbidden(`You cannot grant scopes you do not hold: ${missing.join(", ")}`);
    const issued = issueApiKey(tenantId);
    const expiresAt = input.expiresAt ?? null;
    return inTransaction(this.database, async (tx): Promise<Governed<{ apiKey: ApiKeyRow; secret: string }>> => {
      if (actor.kind !== "operator" && this.approvals) {
        const changeRequestId = await this.approvals.intercept(
          tx,
          actor,
          {
            action: "CREATE_API_KEY",
            base: null,
            payload: { name, scopes, expiresAt: expiresAt?.toISOString() ?? null, requesterUserId: userIdOf(actor) },
            size: scopes.length,
            facts: { scopes },
          },
          options,
        );
        if (changeRequestId) return { changeRequestId };
      }
      const apiKey = await this.writeKey(
        tx,
        actor,
        tenantId,
        { name, scopes, expiresAt, prefix: issued.prefix, secretHash: issued.secretHash, createdById: userIdOf(actor) },
        {},
      );
      return { applied: { apiKey, secret: issued.key } };
    });
  }

  /**
   * Creates the key of an approved request inside the approval's transaction, sealed: its stored hash is
   * `sealedMarker(changeRequestId)`, which no key hashes to, so the key authenticates nothing until its
   * requester claims the secret (`claimSealed`) — the approver who applies it never sees a secret. Stale when
   * the key would have expired already, or the requesting user left the tenant or no longer holds its scopes.
   */
  async applyApprovedKey(
    tx: Transaction,
    actor: TenantActor,
    request: {
      changeRequestId: string;
      name: string;
      scopes: ApiKeyScope[];
      expiresAt: string | null;
      requesterUserId: string | null;
      detail: Record<string, unknown>;
    },
  ): Promise<{ applied: ApiKeyRow } | { stale: string }> {
    const expiresAt = request.expiresAt ? new Date(request.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) return { stale: "the key's expiry has passed" };
    if (request.requesterUserId) {
      const requester = await this.identities.userInTenant(actor.tenantId, request.requesterUserId, tx);
      if (!requester) return { stale: "the requester is no longer a user of the tenant" };
      const missing = scopesNotHeld({ kind: "user", tenantId: actor.tenantId, userId: requester.id, roles: requester.roles }, request.scopes);
      if (missing.length) return { stale: `the requester no longer holds the scopes ${missing.join(", ")}` };
    }
    const { prefix } = issueApiKey(actor.tenantId);
    const apiKey = await this.writeKey(
      tx,
      actor,
      actor.tenantId,
      {
        name: request.name,
        scopes: request.scopes,
        expiresAt,
        prefix,
        secretHash: sealedMarker(request.changeRequestId),
        createdById: request.requesterUserId,
      },
      { sealed: true, ...request.detail },
    );
    return { applied: apiKey };
  }

  /**
   * The secret of a sealed key, issued now and shown this once: the key row keeps its ID and prefix and gets the
   * secret's hash. Null when the key is no longer sealed by this request (claimed already). The caller has
   * checked that `actor` is the request's requester.
   */
  async claimSealed(tx: Transaction, actor: TenantActor, apiKeyId: string, changeRequestId: string): Promise<{ apiKey: ApiKeyRow; secret: string } | null> {
    const current = await this.identities.findKey(apiKeyId);
    if (!current || current.tenantId !== actor.tenantId) return null;
    const issued = issueApiKey(actor.tenantId, current.prefix);
    const apiKey = await this.identities.unsealKey(tx, actor.tenantId, apiKeyId, sealedMarker(changeRequestId), issued.secretHash);
    if (!apiKey) return null;
    await recordAuditEvent(tx, actor, actor.tenantId, {
      action: "EDITED",
      resourceKind: "API_KEY",
      detail: { apiKeyId, name: apiKey.name, prefix: apiKey.prefix, secretClaimed: true, changeRequestId },
    });
    // A process that looked the sealed key up keeps no stale entry of it.
    await this.identities.announceKeyChange(tx, apiKey.prefix);
    return { apiKey, secret: issued.key };
  }

  private async writeKey(
    tx: Transaction,
    actor: Actor,
    tenantId: string,
    key: { name: string; scopes: ApiKeyScope[]; expiresAt: Date | null; prefix: string; secretHash: string; createdById: string | null },
    detail: Record<string, unknown>,
  ): Promise<ApiKeyRow> {
    const row = await this.identities.createKey(tx, { tenantId, ...key });
    await recordAuditEvent(tx, actor, tenantId, {
      action: "KEY_CREATED",
      resourceKind: "API_KEY",
      detail: { apiKeyId: row.id, name: key.name, prefix: row.prefix, scopes: key.scopes, expiresAt: row.expiresAt?.toISOString() ?? null, ...detail },
    });
    return row;
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
      // Every process's key cache hears of it before it answers its next request (announced-row-cache.ts).
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

/** The stored hash of a key an approved request created and its requester has not claimed: not hex, so no key's hash equals it. */
const sealedMarker = (changeRequestId: string): string => `sealed:${changeRequestId}`;

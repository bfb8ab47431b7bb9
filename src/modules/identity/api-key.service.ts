import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { scopesNotHeld } from "../../authorization/grants.js";
import type { Database } from "../../database/database.js";
import { conflict, forbidden, invalidInput, notFound } from "../../errors/domain-error.js";
import type { ApiKeyScope } from "../../generated/prisma/enums.js";
import { decodeCursor, encodeCursor, toConnection, type Connection } from "../../graphql/pagination.js";
import { requireUuid } from "../../graphql/ids.js";
import { issueApiKey } from "../../identity/api-key-format.js";
import { announceApiKeyChange } from "../../identity/api-key-cache.js";
import { userIdOf, type Principal } from "../../identity/principal.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";

/** Everything about a key except its hash: no read path ever selects `secretHash`. */
export interface ApiKeyRow {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdById: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiKey {
  name: string;
  scopes: readonly ApiKeyScope[];
  expiresAt?: Date | null;
}

const KEY_SELECT = {
  id: true,
  tenantId: true,
  name: true,
  prefix: true,
  scopes: true,
  createdById: true,
  createdAt: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

/** API keys: issued with scopes the issuer holds, stored hashed, revocable at once. */
export class ApiKeyService {
  constructor(private readonly database: Database) {}

  /** Returns the key row and the full key, which is never stored and never shown again. `actor` null: an operator. */
  async create(actor: Principal | null, tenantId: string, input: NewApiKey): Promise<{ apiKey: ApiKeyRow; secret: string }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw invalidInput("scopes", "name at least one scope");
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw invalidInput("expiresAt", "must lie in the future");
    if (actor) {
      if (actor.tenantId !== tenantId) throw notFound("Tenant", tenantId);
      requireAction(actor, Action.ManageApiKeys);
      const missing = scopesNotHeld(actor, scopes);
      if (missing.length) throw forbidden(`You cannot grant scopes you do not hold: ${missing.join(", ")}`);
    }
    const issued = issueApiKey();
    const apiKey = await this.database.prisma.$transaction(async (tx) => {
      const row = await tx.apiKey.create({
        data: {
          tenantId,
          name,
          prefix: issued.prefix,
          secretHash: issued.secretHash,
          scopes,
          expiresAt: input.expiresAt ?? null,
          createdById: actor ? userIdOf(actor) : null,
        },
        select: KEY_SELECT,
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
  async revoke(actor: Principal | null, tenantId: string, apiKeyId: string): Promise<ApiKeyRow> {
    const id = requireUuid(apiKeyId, "API key");
    if (actor) {
      if (actor.tenantId !== tenantId) throw notFound("API key", apiKeyId);
      requireAction(actor, Action.ManageApiKeys);
    }
    return this.database.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ revoked_at: Date | null }[]>`
        SELECT revoked_at FROM api_keys WHERE id = ${id}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
      if (locked.length === 0) throw notFound("API key", apiKeyId);
      if (locked[0]!.revoked_at) throw conflict("The API key is already revoked", { id });
      const row = await tx.apiKey.update({
        where: { id },
        data: { revokedAt: new Date(), revokedById: actor ? userIdOf(actor) : null },
        select: KEY_SELECT,
      });
      await recordAuditEvent(tx, actor, tenantId, {
        action: "KEY_REVOKED",
        resourceKind: "API_KEY",
        detail: { apiKeyId: row.id, name: row.name, prefix: row.prefix },
      });
      // Every process's key cache hears of it before it answers its next request (api-key-cache.ts).
      await announceApiKeyChange(tx, row.prefix);
      return row;
    });
  }

  /** For operators: the key's tenant, found by id or by its public prefix. */
  async findForOperator(idOrPrefix: string): Promise<ApiKeyRow> {
    const row = await this.database.prisma.apiKey.findFirst({
      where: /^[0-9a-f-]{36}$/i.test(idOrPrefix) ? { id: idOrPrefix.toLowerCase() } : { prefix: idOrPrefix },
      select: KEY_SELECT,
    });
    if (!row) throw notFound("API key", idOrPrefix);
    return row;
  }

  /** The tenant's keys, newest first, without secrets. */
  async list(actor: Principal, first: number, after: string | null | undefined, includeRevoked: boolean): Promise<Connection<ApiKeyRow>> {
    requireAction(actor, Action.ManageApiKeys);
    const { prisma } = this.database;
    const base = { tenantId: actor.tenantId, ...(includeRevoked ? {} : { revokedAt: null }) };
    let where: object = base;
    if (after) {
      const [createdAt, id] = decodeCursor(after, 2) as [string, string];
      const at = new Date(String(createdAt));
      if (Number.isNaN(at.getTime())) throw invalidInput("after", "is not a cursor this API produced");
      where = { ...base, OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: String(id) } }] };
    }
    const [rows, totalCount] = await Promise.all([
      prisma.apiKey.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: first + 1, select: KEY_SELECT }),
      prisma.apiKey.count({ where: base }),
    ]);
    return toConnection(rows, first, totalCount, (row) => encodeCursor([row.createdAt.toISOString(), row.id]));
  }
}

import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Database } from "../database/database.js";
import { DomainError, DomainErrorCode, unauthenticated } from "../errors/domain-error.js";
import { apiKeyMatches, parseApiKey } from "./api-key-format.js";
import { AnnouncedRowCache } from "./announced-row-cache.js";
import { API_KEY_CHANGED_CHANNEL, IdentityStore, USER_CHANGED_CHANNEL } from "../stores/identity.store.js";
import type { TenantActor } from "./actor.js";
import type { TokenVerifier } from "./tokens.js";

/** Remembering `lastUsedAt` more often than this per key would turn every read into a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface Authenticator {
  /**
   * null when no credential was sent; throws UNAUTHENTICATED for a bad one. `arrivedAt`: when the request arrived
   * (`process.hrtime.bigint()`), so that a key's cached row shares the request's catch-up (announced-row-cache.ts).
   */
  authenticate(headers: IncomingHttpHeaders, arrivedAt?: bigint): Promise<TenantActor | null>;
}

/**
 * A tenant bound to a dedicated database is served only from that database. A credential that reaches the
 * shared database's rows of a bound tenant (a key issued before the routing hint, a token without a tenant
 * claim) is refused rather than ever served from here. In a tenant's own database its `tenants` row carries no
 * binding, so this passes there.
 */
function requireSharedDatabase(binding: string | null): void {
  if (binding !== null) {
    throw new DomainError(
      DomainErrorCode.DatabaseUnavailable,
      "This organisation is served from its dedicated database; this credential does not name it (issue a new API key, or add the tenant claim to the token)",
    );
  }
}

/** Authenticates against the users and keys of one database (the shared one, or a dedicated tenant's). */
export function createAuthenticator(database: Database, tokens: TokenVerifier): Authenticator {
  const identities = new IdentityStore(database);
  // Key rows are cached briefly per process; revocation drops them everywhere (announced-row-cache.ts).
  const keyRows = new AnnouncedRowCache(database, API_KEY_CHANGED_CHANNEL, (prefix) => identities.keyCredential(prefix));
  // Users too, by subject, with the same catch-up rule: a trigger announces every change to a user row (roles,
  // deletion, anything else) on commit, so a request that arrives after it commits never sees the old row, in any
  // process. Reading the row on every request was most of a bearer request's cost (bench:graphql).
  const userRows = new AnnouncedRowCache(database, USER_CHANGED_CHANNEL, (subject) => identities.userBySubject(subject));

  async function fromToken(token: string, arrivedAt: bigint | undefined): Promise<TenantActor> {
    let subject: string;
    try {
      subject = (await tokens.verify(token)).subject;
    } catch {
      throw unauthenticated("The bearer token is invalid or expired");
    }
    const user = await userRows.get(subject, arrivedAt);
    if (!user) throw unauthenticated("The bearer token names no known user");
    requireSharedDatabase(user.database_binding);
    return { kind: "user", tenantId: user.tenant_id, userId: user.id, roles: user.roles };
  }

  type KeyRow = NonNullable<Awaited<ReturnType<typeof keyRows.get>>>;
  // The key that last matched each cached row: a busy key's next request compares it in constant time instead
  // of hashing it again. A reloaded or revoked row is a new object, so this forgets it.
  const verifiedKeys = new WeakMap<KeyRow, Buffer>();

  function matchedBefore(row: KeyRow, key: string): boolean {
    const known = verifiedKeys.get(row);
    if (!known) return false;
    const presented = Buffer.from(key);
    return presented.length === known.length && timingSafeEqual(presented, known);
  }

  async function verify(key: string, arrivedAt: bigint | undefined): Promise<KeyRow> {
    const parsed = parseApiKey(key);
    if (!parsed) throw unauthenticated("The API key is malformed");
    const row = await keyRows.get(parsed.prefix, arrivedAt);
    if (row && matchedBefore(row, key)) return row;
    if (!row || !apiKeyMatches(key, row.secretHash)) throw unauthenticated("The API key is not valid");
    verifiedKeys.set(row, Buffer.from(key));
    return row;
  }

  async function fromApiKey(key: string, arrivedAt: bigint | undefined): Promise<TenantActor> {
    const row = await verify(key, arrivedAt);
    requireSharedDatabase(row.tenant.databaseBinding);
    const now = Date.now();
    if (row.revokedAt) throw unauthenticated("The API key has been revoked");
    if (row.expiresAt && row.expiresAt.getTime() <= now) throw unauthenticated("The API key has expired");
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await identities.touchKey(row.id, new Date(now));
      row.lastUsedAt = new Date(now); // the cached row too, so the next requests do not write again
    }
    return { kind: "apiKey", tenantId: row.tenantId, apiKeyId: row.id, scopes: row.scopes, issuerId: row.createdById };
  }

  return {
    async authenticate(headers, arrivedAt) {
      const apiKey = headers["x-api-key"];
      if (typeof apiKey === "string" && apiKey.length > 0) return fromApiKey(apiKey.trim(), arrivedAt);
      const authorization = headers.authorization;
      if (!authorization) return null;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match?.[1]) throw unauthenticated("The Authorization header must be 'Bearer <token>'");
      return fromToken(match[1], arrivedAt);
    },
  };
}

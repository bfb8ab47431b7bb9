import type { Database } from "../database/database.js";
import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";
import type { Prisma } from "../generated/prisma/client.js";
import { isUuid } from "../shared/ids.js";
import { type Connection, type Keyset, keysetPage, type PageRequest, textColumn, timeColumn, uuidColumn } from "../shared/keyset.js";
import type { Transaction } from "./transaction.js";

export interface UserRow {
  id: string;
  tenantId: string;
  subject: string;
  email: string;
  name: string;
  roles: Role[];
}

/** Everything about a key except its hash: no read path but authentication ever selects `secretHash`. */
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

/** What authenticating a key needs: the row with its hash, and where its tenant is served. */
export type ApiKeyCredentialRow = ApiKeyRow & { secretHash: string; tenant: { databaseBinding: string | null } };

/** What authenticating a bearer token's subject needs. */
export interface UserCredentialRow {
  id: string;
  tenant_id: string;
  roles: Role[];
  database_binding: string | null;
}

const USER_SELECT = { id: true, tenantId: true, subject: true, email: true, name: true, roles: true } as const;
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

const USER_KEYSET: Keyset<UserRow> = { columns: [textColumn("email"), uuidColumn("id")], direction: "asc" };
const KEY_KEYSET: Keyset<ApiKeyRow> = { columns: [timeColumn("createdAt"), uuidColumn("id")], direction: "desc" };

/**
 * A revocation announces the key's prefix on this channel inside its transaction; every process's key cache
 * (src/identity/announced-row-cache.ts) listens.
 */
export const API_KEY_CHANGED_CHANNEL = "verdict_api_key_changed";

/**
 * A trigger on `users` (migration 20261205081000) announces the subject of every user row updated or deleted, on
 * commit, whoever changed it; a tenant's binding changing announces "*". Every process's user cache listens.
 */
export const USER_CHANGED_CHANNEL = "verdict_user_changed";

/** Runs when a bearer token's user is not cached (src/identity/authenticate.ts), through the driver's prepared statements. */
const USER_BY_SUBJECT = `SELECT u.id, u.tenant_id, u.roles::text[] AS roles, t.database_binding
  FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.subject = $1`;

/** Users, their roles, and API keys: every statement on `users` and `api_keys`. */
export interface ActorName {
  kind: "user" | "apiKey";
  name: string;
  email: string | null;
}

export class IdentityStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  // ---- users ----

  countUsers(tx: Transaction, tenantId: string): Promise<number> {
    return tx.user.count({ where: { tenantId } });
  }

  async emailTaken(tx: Transaction, tenantId: string, email: string): Promise<boolean> {
    return (await tx.user.findFirst({ where: { tenantId, email }, select: { id: true } })) !== null;
  }

  async subjectTaken(tx: Transaction, subject: string): Promise<boolean> {
    return (await tx.user.findUnique({ where: { subject }, select: { id: true } })) !== null;
  }

  createUser(tx: Transaction, data: Prisma.UserUncheckedCreateInput): Promise<UserRow> {
    return tx.user.create({ data, select: USER_SELECT });
  }

  /** A user of the tenant by ID or (case-insensitively stored) email. */
  findUser(tenantId: string, emailOrId: string): Promise<UserRow | null> {
    return this.prisma.user.findFirst({
      where: { tenantId, ...(isUuid(emailOrId) ? { id: emailOrId.toLowerCase() } : { email: emailOrId.toLowerCase() }) },
      select: USER_SELECT,
    });
  }

  /** A user or an API key of the tenant by ID, named for people (e.g. who holds a lock). */
  async actorName(tenantId: string, id: string, reader: Transaction | Database["prisma"] = this.prisma): Promise<ActorName | null> {
    const user = await reader.user.findFirst({ where: { id, tenantId }, select: { name: true, email: true } });
    if (user) return { kind: "user", name: user.name, email: user.email };
    const key = await reader.apiKey.findFirst({ where: { id, tenantId }, select: { name: true } });
    return key ? { kind: "apiKey", name: key.name, email: null } : null;
  }

  userInTenant(tenantId: string, userId: string, reader: Transaction | Database["prisma"] = this.prisma): Promise<UserRow | null> {
    return reader.user.findFirst({ where: { id: userId, tenantId }, select: USER_SELECT });
  }

  /** The tenant's earliest admin. */
  firstAdmin(tenantId: string): Promise<UserRow | null> {
    return this.prisma.user.findFirst({ where: { tenantId, roles: { has: "ADMIN" } }, orderBy: { createdAt: "asc" }, select: USER_SELECT });
  }

  countOtherAdmins(tx: Transaction, tenantId: string, userId: string): Promise<number> {
    return tx.user.count({ where: { tenantId, id: { not: userId }, roles: { has: "ADMIN" } } });
  }

  setRoles(tx: Transaction, userId: string, roles: Role[]): Promise<UserRow> {
    return tx.user.update({ where: { id: userId }, data: { roles }, select: USER_SELECT });
  }

  /** The tenant's users, by email. */
  listUsers(tenantId: string, page: PageRequest): Promise<Connection<UserRow>> {
    return keysetPage(USER_KEYSET, page, { tenantId } as Prisma.UserWhereInput, {
      find: (args) => this.prisma.user.findMany({ ...args, select: USER_SELECT }),
      count: (args) => this.prisma.user.count(args),
    });
  }

  /** For the per-request loader: one statement however many users are asked for. */
  usersByIds(ids: readonly string[]): Promise<UserRow[]> {
    return this.prisma.user.findMany({ where: { id: { in: [...ids] } }, select: USER_SELECT });
  }

  /** The user a token's subject names, with their roles and tenant binding (cached per process until announced changed). */
  async userBySubject(subject: string): Promise<UserCredentialRow | null> {
    const [user] = await this.database.query<UserCredentialRow>(USER_BY_SUBJECT, [subject]);
    return user ?? null;
  }

  // ---- API keys ----

  createKey(tx: Transaction, data: Prisma.ApiKeyUncheckedCreateInput): Promise<ApiKeyRow> {
    return tx.apiKey.create({ data, select: KEY_SELECT });
  }

  /** Locks the tenant's key until the transaction ends; null when the tenant has no such key. */
  async lockKey(tx: Transaction, tenantId: string, keyId: string): Promise<{ revokedAt: Date | null } | null> {
    const [row] = await tx.$queryRaw<{ revoked_at: Date | null }[]>`
      SELECT revoked_at FROM api_keys WHERE id = ${keyId}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
    return row ? { revokedAt: row.revoked_at } : null;
  }

  /**
   * Gives a sealed key (created by an approved change request, its hash a marker no key hashes to) its real
   * secret's hash; false when the key is not sealed with `marker` any more (its secret was claimed already).
   */
  async unsealKey(tx: Transaction, tenantId: string, keyId: string, marker: string, secretHash: string): Promise<ApiKeyRow | null> {
    const updated = await tx.apiKey.updateMany({ where: { id: keyId, tenantId, secretHash: marker }, data: { secretHash } });
    return updated.count === 1 ? tx.apiKey.findUniqueOrThrow({ where: { id: keyId }, select: KEY_SELECT }) : null;
  }

  revokeKey(tx: Transaction, keyId: string, revokedById: string | null): Promise<ApiKeyRow> {
    return tx.apiKey.update({ where: { id: keyId }, data: { revokedAt: new Date(), revokedById }, select: KEY_SELECT });
  }

  /** Tells every gateway process's key cache, on commit, that the key with this prefix changed. */
  async announceKeyChange(tx: Transaction, prefix: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_notify(${API_KEY_CHANGED_CHANNEL}, ${prefix})`;
  }

  /** A key of any tenant, by ID or public prefix (operators). */
  findKey(idOrPrefix: string): Promise<ApiKeyRow | null> {
    return this.prisma.apiKey.findFirst({
      where: isUuid(idOrPrefix) ? { id: idOrPrefix.toLowerCase() } : { prefix: idOrPrefix },
      select: KEY_SELECT,
    });
  }

  /** The tenant's keys, newest first, without secrets. */
  listKeys(tenantId: string, includeRevoked: boolean, page: PageRequest): Promise<Connection<ApiKeyRow>> {
    const where: Prisma.ApiKeyWhereInput = { tenantId, ...(includeRevoked ? {} : { revokedAt: null }) };
    return keysetPage(KEY_KEYSET, page, where, {
      find: (args) => this.prisma.apiKey.findMany({ ...args, select: KEY_SELECT }),
      count: (args) => this.prisma.apiKey.count(args),
    });
  }

  /** The key with this prefix, hash included, for authentication. */
  keyCredential(prefix: string): Promise<ApiKeyCredentialRow | null> {
    return this.prisma.apiKey.findUnique({
      where: { prefix },
      select: { ...KEY_SELECT, secretHash: true, tenant: { select: { databaseBinding: true } } },
    });
  }

  /** Remembers when a key was last used. */
  async touchKey(keyId: string, at: Date): Promise<void> {
    await this.prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: at } });
  }
}

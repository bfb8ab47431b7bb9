import { randomUUID } from "node:crypto";
import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { rolesNotHeld } from "../../authorization/grants.js";
import type { Database } from "../../database/database.js";
import { conflict, forbidden, invalidInput, notFound } from "../../errors/domain-error.js";
import type { Role } from "../../generated/prisma/enums.js";
import { decodeCursor, encodeCursor, toConnection, type Connection } from "../../graphql/pagination.js";
import { requireUuid } from "../../graphql/ids.js";
import type { Principal } from "../../identity/principal.js";
import { recordAuditEvent, type Transaction } from "../audit/audit-recorder.js";

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
}

export interface UserRow {
  id: string;
  tenantId: string;
  subject: string;
  email: string;
  name: string;
  roles: Role[];
}

export interface NewUser {
  tenantId: string;
  email: string;
  name: string;
  /** The identity provider's `sub`; defaults to the user's id, which is what embedded tokens carry. */
  subject?: string;
  /** Roles on top of the one the first-user rule gives. */
  extraRoles?: readonly Role[];
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const USER_SELECT = { id: true, tenantId: true, subject: true, email: true, name: true, roles: true } as const;

/** The first user of a tenant becomes its admin; everyone after starts as a viewer. */
export const initialRoleFor = (existingUsers: number): Role => (existingUsers === 0 ? "ADMIN" : "VIEWER");

const unique = <T>(items: readonly T[]): T[] => [...new Set(items)];

/** Tenants and users: provisioning (CLI and any other path) and role administration. */
export class UserService {
  constructor(private readonly database: Database) {}

  async createTenant(slug: string, name: string): Promise<TenantRow> {
    if (!SLUG.test(slug)) invalidSlug();
    if (name.trim().length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    const existing = await this.database.prisma.tenant.findUnique({ where: { slug } });
    if (existing) throw conflict(`A tenant with slug ${slug} already exists`, { slug });
    return this.database.prisma.tenant.create({ data: { slug, name: name.trim() }, select: { id: true, slug: true, name: true } });
  }

  async findTenant(slugOrId: string): Promise<TenantRow> {
    const tenant = await this.database.prisma.tenant.findFirst({
      where: /^[0-9a-f-]{36}$/i.test(slugOrId) ? { OR: [{ id: slugOrId.toLowerCase() }, { slug: slugOrId }] } : { slug: slugOrId },
      select: { id: true, slug: true, name: true },
    });
    if (!tenant) throw notFound("Tenant", slugOrId);
    return tenant;
  }

  /**
   * Adds a user under the first-user rule. The tenant row is locked for the transaction, so two users
   * created at once cannot both become the first admin. `actor` null means an operator (the CLI).
   */
  async addUser(actor: Principal | null, input: NewUser): Promise<UserRow> {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL.test(email) || email.length > 320) throw invalidInput("email", "is not an email address");
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    const extra = unique(input.extraRoles ?? []);
    if (actor) {
      if (actor.tenantId !== input.tenantId) throw notFound("Tenant", input.tenantId);
      requireAction(actor, Action.ManageRoles);
      const missing = rolesNotHeld(actor, extra);
      if (missing.length) throw forbidden(`You cannot grant roles you do not hold: ${missing.join(", ")}`);
    }
    const id = randomUUID();
    return this.database.prisma.$transaction(async (tx) => {
      await lockTenant(tx, input.tenantId);
      const [existingUsers, sameEmail] = await Promise.all([
        tx.user.count({ where: { tenantId: input.tenantId } }),
        tx.user.findFirst({ where: { tenantId: input.tenantId, email }, select: { id: true } }),
      ]);
      if (sameEmail) throw conflict(`A user with email ${email} already exists in this tenant`, { email });
      const subject = input.subject?.trim() || id;
      if (await tx.user.findUnique({ where: { subject }, select: { id: true } })) {
        throw conflict(`A user with subject ${subject} already exists`, { subject });
      }
      const roles = unique<Role>([initialRoleFor(existingUsers), ...extra]);
      const user = await tx.user.create({ data: { id, tenantId: input.tenantId, subject, email, name, roles }, select: USER_SELECT });
      await recordAuditEvent(tx, actor, input.tenantId, {
        action: "CREATED",
        resourceKind: "USER",
        detail: { userId: user.id, email, roles, firstUser: existingUsers === 0 },
      });
      return user;
    });
  }

  async findUser(tenantId: string, emailOrId: string): Promise<UserRow> {
    const user = await this.database.prisma.user.findFirst({
      where: { tenantId, ...(/^[0-9a-f-]{36}$/i.test(emailOrId) ? { id: emailOrId.toLowerCase() } : { email: emailOrId.toLowerCase() }) },
      select: USER_SELECT,
    });
    if (!user) throw notFound("User", emailOrId);
    return user;
  }

  /** Adds roles the caller holds itself. Recorded as ASSIGNED in the same transaction. */
  assignRoles(actor: Principal | null, tenantId: string, userId: string, roles: readonly Role[]): Promise<UserRow> {
    return this.changeRoles(actor, tenantId, userId, roles, "add");
  }

  /** Removes roles the caller holds itself; the tenant's last admin cannot lose ADMIN. */
  removeRoles(actor: Principal | null, tenantId: string, userId: string, roles: readonly Role[]): Promise<UserRow> {
    return this.changeRoles(actor, tenantId, userId, roles, "remove");
  }

  private async changeRoles(
    actor: Principal | null,
    tenantId: string,
    userId: string,
    requested: readonly Role[],
    change: "add" | "remove",
  ): Promise<UserRow> {
    const id = requireUuid(userId, "User");
    const roles = unique(requested);
    if (roles.length === 0) throw invalidInput("roles", "name at least one role");
    if (actor) {
      if (actor.tenantId !== tenantId) throw notFound("User", userId);
      requireAction(actor, Action.ManageRoles);
    }
    return this.database.prisma.$transaction(async (tx) => {
      // Role changes of one tenant queue here, so "the last admin" is decided on settled data.
      await lockTenant(tx, tenantId);
      const user = await tx.user.findFirst({ where: { id, tenantId }, select: USER_SELECT });
      if (!user) throw notFound("User", userId);
      if (actor) {
        const missing = rolesNotHeld(actor, roles);
        if (missing.length) throw forbidden(`You cannot ${change === "add" ? "grant" : "remove"} roles you do not hold: ${missing.join(", ")}`);
      }
      const next =
        change === "add" ? unique([...user.roles, ...roles]) : user.roles.filter((role) => !roles.includes(role));
      const added = next.filter((r) => !user.roles.includes(r));
      const removed = user.roles.filter((r) => !next.includes(r));
      if (added.length === 0 && removed.length === 0) return user;
      if (removed.includes("ADMIN")) {
        const otherAdmins = await tx.user.count({ where: { tenantId, id: { not: user.id }, roles: { has: "ADMIN" } } });
        if (otherAdmins === 0) throw conflict("The tenant's last admin cannot lose the ADMIN role", { userId: user.id });
      }
      const updated = await tx.user.update({ where: { id: user.id }, data: { roles: next }, select: USER_SELECT });
      await recordAuditEvent(tx, actor, tenantId, {
        action: "ASSIGNED",
        resourceKind: "USER",
        detail: { userId: user.id, ...(added.length ? { added } : {}), ...(removed.length ? { removed } : {}), roles: next },
      });
      return updated;
    });
  }

  /** The tenant's users, by email. */
  async listUsers(actor: Principal, first: number, after?: string | null): Promise<Connection<UserRow>> {
    requireAction(actor, Action.ManageRoles);
    const { prisma } = this.database;
    const tenantId = actor.tenantId;
    let where: object = { tenantId };
    if (after) {
      const [email, id] = decodeCursor(after, 2) as [string, string];
      where = { tenantId, OR: [{ email: { gt: String(email) } }, { email: String(email), id: { gt: String(id) } }] };
    }
    const [rows, totalCount] = await Promise.all([
      prisma.user.findMany({ where, orderBy: [{ email: "asc" }, { id: "asc" }], take: first + 1, select: USER_SELECT }),
      prisma.user.count({ where: { tenantId } }),
    ]);
    return toConnection(rows, first, totalCount, (row) => encodeCursor([row.email, row.id]));
  }
}

function invalidSlug(): never {
  throw invalidInput("slug", "must be 1 to 63 lower-case letters, digits and inner hyphens");
}

/**
 * Serialises identity changes of one tenant; NOT_FOUND when the tenant does not exist. NO KEY UPDATE, not
 * UPDATE: foreign-key checks of concurrent inserts (audit events…) take KEY SHARE on the tenant row, and an
 * UPDATE lock would deadlock with a writer that holds the audit chain head and waits for that check.
 */
export async function lockTenant(tx: Transaction, tenantId: string): Promise<void> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM tenants WHERE id = ${tenantId}::uuid FOR NO KEY UPDATE`;
  if (rows.length === 0) throw notFound("Tenant", tenantId);
}

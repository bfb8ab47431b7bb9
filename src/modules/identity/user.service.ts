import { randomUUID } from "node:crypto";
import { Action } from "../../authorization/actions.js";
import { requireAction, requireActionIn } from "../../authorization/authorize.js";
import { rolesNotHeld } from "../../authorization/grants.js";
import type { Database } from "../../database/database.js";
import { conflict, forbidden, invalidInput, notFound } from "../../errors/domain-error.js";
import type { Role } from "../../generated/prisma/enums.js";
import type { Connection } from "../../shared/keyset.js";
import { requireUuid } from "../../shared/ids.js";
import { type Actor, type TenantActor, userIdOf } from "../../identity/actor.js";
import type { IdentityStore, UserRow } from "../../stores/identity.store.js";
import type { TenantRow, TenantStore } from "../../stores/tenant.store.js";
import { inTransaction, type Transaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { type ApprovalHook, appliedOnly, type Governed } from "../resources/approval-hook.js";

export type { TenantRow, UserRow };

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

/** The first user of a tenant becomes its admin; everyone after starts as a viewer. */
export const initialRoleFor = (existingUsers: number): Role => (existingUsers === 0 ? "ADMIN" : "VIEWER");

const unique = <T>(items: readonly T[]): T[] => [...new Set(items)];

/** Tenants and users: provisioning (CLI and any other path) and role administration. */
export class UserService {
  constructor(
    private readonly database: Database,
    private readonly tenants: TenantStore,
    private readonly identities: IdentityStore,
  ) {}

  async createTenant(slug: string, name: string): Promise<TenantRow> {
    if (!SLUG.test(slug)) invalidSlug();
    if (name.trim().length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    if (await this.tenants.findBySlug(slug)) throw conflict(`A tenant with slug ${slug} already exists`, { slug });
    return this.tenants.create(slug, name.trim());
  }

  async findTenant(slugOrId: string): Promise<TenantRow> {
    const tenant = await this.tenants.findBySlugOrId(slugOrId);
    if (!tenant) throw notFound("Tenant", slugOrId);
    return tenant;
  }

  /**
   * Adds a user under the first-user rule. The tenant row is locked for the transaction, so two users
   * created at once cannot both become the first admin.
   */
  async addUser(actor: Actor, input: NewUser): Promise<UserRow> {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL.test(email) || email.length > 320) throw invalidInput("email", "is not an email address");
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
    const extra = unique(input.extraRoles ?? []);
    requireActionIn(actor, input.tenantId, Action.ManageRoles, { what: "Tenant", id: input.tenantId });
    const missing = rolesNotHeld(actor, extra);
    if (missing.length) throw forbidden(`You cannot grant roles you do not hold: ${missing.join(", ")}`);
    const id = randomUUID();
    return inTransaction(this.database, async (tx) => {
      await this.tenants.lock(tx, input.tenantId);
      // One after the other: a transaction's connection runs one query at a time.
      const existingUsers = await this.identities.countUsers(tx, input.tenantId);
      const sameEmail = await this.identities.emailTaken(tx, input.tenantId, email);
      if (sameEmail) throw conflict(`A user with email ${email} already exists in this tenant`, { email });
      const subject = input.subject?.trim() || id;
      if (await this.identities.subjectTaken(tx, subject)) {
        throw conflict(`A user with subject ${subject} already exists`, { subject });
      }
      const roles = unique<Role>([initialRoleFor(existingUsers), ...extra]);
      const user = await this.identities.createUser(tx, { id, tenantId: input.tenantId, subject, email, name, roles });
      await recordAuditEvent(tx, actor, input.tenantId, {
        action: "CREATED",
        resourceKind: "USER",
        detail: { userId: user.id, email, roles, firstUser: existingUsers === 0 },
      });
      return user;
    });
  }

  async findUser(tenantId: string, emailOrId: string): Promise<UserRow> {
    const user = await this.identities.findUser(tenantId, emailOrId);
    if (!user) throw notFound("User", emailOrId);
    return user;
  }

  /**
   * Four-eyes changes (src/modules/approvals/README.md): role assignments of tenant actors go through it;
   * the CLI's operator is not governed (it is the way back in when nobody of the tenant can approve).
   */
  approvals: ApprovalHook | null = null;

  /** Adds roles the caller holds itself. Recorded as ASSIGNED in the same transaction; CONFLICT when an approval policy governs it. */
  async assignRoles(actor: Actor, tenantId: string, userId: string, roles: readonly Role[]): Promise<UserRow> {
    return appliedOnly(await this.changeRoles(actor, tenantId, userId, roles, "add", { request: false }));
  }

  /** Adds roles, or records a pending change request when an approval policy governs the assignment. */
  assignOrRequest(actor: TenantActor, userId: string, roles: readonly Role[], options: { request: boolean }): Promise<Governed<UserRow>> {
    return this.changeRoles(actor, actor.tenantId, userId, roles, "add", options);
  }

  /** Removes roles the caller holds itself; the tenant's last admin cannot lose ADMIN. */
  async removeRoles(actor: Actor, tenantId: string, userId: string, roles: readonly Role[]): Promise<UserRow> {
    return appliedOnly(await this.changeRoles(actor, tenantId, userId, roles, "remove", { request: false }));
  }

  /**
   * Applies an approved role assignment inside the approval's transaction: stale when the user left the tenant
   * or their roles are no longer those the request saw. The approver applying it must hold the roles it grants.
   */
  async applyApprovedAssignment(
    tx: Transaction,
    actor: TenantActor,
    request: { userId: string; rolesBefore: Role[]; rolesAfter: Role[]; detail: Record<string, unknown> },
  ): Promise<{ applied: UserRow } | { stale: string }> {
    // The same queue as a direct change (lock order: the request's row, then the tenant's).
    await this.tenants.lock(tx, actor.tenantId);
    const user = await this.identities.userInTenant(actor.tenantId, request.userId, tx);
    if (!user) return { stale: "the user is no longer a user of the tenant" };
    if (!sameRoles(user.roles, request.rolesBefore)) return { stale: "the user's roles changed since the request" };
    const added = request.rolesAfter.filter((role) => !request.rolesBefore.includes(role));
    const missing = rolesNotHeld(actor, added);
    if (missing.length) throw forbidden(`You cannot grant roles you do not hold: ${missing.join(", ")}`);
    return { applied: await this.writeRoles(tx, actor, actor.tenantId, user, request.rolesAfter, request.detail) };
  }

  private async changeRoles(
    actor: Actor,
    tenantId: string,
    userId: string,
    requested: readonly Role[],
    change: "add" | "remove",
    options: { request: boolean },
  ): Promise<Governed<UserRow>> {
    const id = requireUuid(userId, "User");
    const roles = unique(requested);
    if (roles.length === 0) throw invalidInput("roles", "name at least one role");
    requireActionIn(actor, tenantId, Action.ManageRoles, { what: "User", id: userId });
    return inTransaction(this.database, async (tx): Promise<Governed<UserRow>> => {
      // Role changes of one tenant queue here, so "the last admin" is decided on settled data.
      await this.tenants.lock(tx, tenantId);
      const user = await this.identities.userInTenant(tenantId, id, tx);
      if (!user) throw notFound("User", userId);
      const missing = rolesNotHeld(actor, roles);
      if (missing.length) throw forbidden(`You cannot ${change === "add" ? "grant" : "remove"} roles you do not hold: ${missing.join(", ")}`);
      const next = change === "add" ? unique([...user.roles, ...roles]) : user.roles.filter((role) => !roles.includes(role));
      const added = next.filter((r) => !user.roles.includes(r));
      const removed = user.roles.filter((r) => !next.includes(r));
      if (added.length === 0 && removed.length === 0) return { applied: user };
      if (removed.includes("ADMIN")) {
        const otherAdmins = await this.identities.countOtherAdmins(tx, tenantId, user.id);
        if (otherAdmins === 0) throw conflict("The tenant's last admin cannot lose the ADMIN role", { userId: user.id });
      }
      // Only assignments are an approval action (ASSIGN_ROLES); the operator (CLI) has no tenant to be governed in.
      if (change === "add" && actor.kind !== "operator" && this.approvals) {
        const changeRequestId = await this.approvals.intercept(
          tx,
          actor,
          {
            action: "ASSIGN_ROLES",
            base: null,
            payload: { userId: user.id, rolesBefore: [...user.roles], rolesAfter: next, requesterUserId: userIdOf(actor) },
            size: added.length,
            facts: { rolesAdded: added },
          },
          options,
        );
        if (changeRequestId) return { changeRequestId };
      }
      return { applied: await this.writeRoles(tx, actor, tenantId, user, next, {}) };
    });
  }

  private async writeRoles(tx: Transaction, actor: Actor, tenantId: string, user: UserRow, next: Role[], detail: Record<string, unknown>): Promise<UserRow> {
    const added = next.filter((r) => !user.roles.includes(r));
    const removed = user.roles.filter((r) => !next.includes(r));
    const updated = await this.identities.setRoles(tx, user.id, next);
    await recordAuditEvent(tx, actor, tenantId, {
      action: "ASSIGNED",
      resourceKind: "USER",
      detail: { userId: user.id, ...(added.length ? { added } : {}), ...(removed.length ? { removed } : {}), roles: next, ...detail },
    });
    return updated;
  }

  /** The tenant's users, by email. */
  async listUsers(actor: TenantActor, first: number, after?: string | null): Promise<Connection<UserRow>> {
    requireAction(actor, Action.ManageRoles);
    return this.identities.listUsers(actor.tenantId, { first, after });
  }
}

const sameRoles = (a: readonly Role[], b: readonly Role[]): boolean => a.length === b.length && a.every((role) => b.includes(role));

function invalidSlug(): never {
  throw invalidInput("slug", "must be 1 to 63 lower-case letters, digits and inner hyphens");
}

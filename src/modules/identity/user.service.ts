import { randomUUID } from "node:crypto";
import { Action } from "../../authorization/actions.js";
import { requireAction, requireActionIn } from "../../authorization/authorize.js";
import { rolesNotHeld } from "../../authorization/grants.js";
import type { Database } from "../../database/database.js";
import { conflict, forbidden, invalidInput, notFound } from "../../errors/domain-error.js";
import type { Role } from "../../generated/prisma/enums.js";
import type { Connection } from "../../shared/keyset.js";
import { requireUuid } from "../../shared/ids.js";
import type { Actor, TenantActor } from "../../identity/actor.js";
import type { IdentityStore, UserRow } from "../../stores/identity.store.js";
import type { TenantRow, TenantStore } from "../../stores/tenant.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";

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
      const [existingUsers, sameEmail] = await Promise.all([
        this.identities.countUsers(tx, input.tenantId),
        this.identities.emailTaken(tx, input.tenantId, email),
      ]);
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

  /** Adds roles the caller holds itself. Recorded as ASSIGNED in the same transaction. */
  assignRoles(actor: Actor, tenantId: string, userId: string, roles: readonly Role[]): Promise<UserRow> {
    return this.changeRoles(actor, tenantId, userId, roles, "add");
  }

  /** Removes roles the caller holds itself; the tenant's last admin cannot lose ADMIN. */
  removeRoles(actor: Actor, tenantId: string, userId: string, roles: readonly Role[]): Promise<UserRow> {
    return this.changeRoles(actor, tenantId, userId, roles, "remove");
  }

  private async changeRoles(actor: Actor, tenantId: string, userId: string, requested: readonly Role[], change: "add" | "remove"): Promise<UserRow> {
    const id = requireUuid(userId, "User");
    const roles = unique(requested);
    if (roles.length === 0) throw invalidInput("roles", "name at least one role");
    requireActionIn(actor, tenantId, Action.ManageRoles, { what: "User", id: userId });
    return inTransaction(this.database, async (tx) => {
      // Role changes of one tenant queue here, so "the last admin" is decided on settled data.
      await this.tenants.lock(tx, tenantId);
      const user = await this.identities.userInTenant(tenantId, id, tx);
      if (!user) throw notFound("User", userId);
      const missing = rolesNotHeld(actor, roles);
      if (missing.length) throw forbidden(`You cannot ${change === "add" ? "grant" : "remove"} roles you do not hold: ${missing.join(", ")}`);
      const next = change === "add" ? unique([...user.roles, ...roles]) : user.roles.filter((role) => !roles.includes(role));
      const added = next.filter((r) => !user.roles.includes(r));
      const removed = user.roles.filter((r) => !next.includes(r));
      if (added.length === 0 && removed.length === 0) return user;
      if (removed.includes("ADMIN")) {
        const otherAdmins = await this.identities.countOtherAdmins(tx, tenantId, user.id);
        if (otherAdmins === 0) throw conflict("The tenant's last admin cannot lose the ADMIN role", { userId: user.id });
      }
      const updated = await this.identities.setRoles(tx, user.id, next);
      await recordAuditEvent(tx, actor, tenantId, {
        action: "ASSIGNED",
        resourceKind: "USER",
        detail: { userId: user.id, ...(added.length ? { added } : {}), ...(removed.length ? { removed } : {}), roles: next },
      });
      return updated;
    });
  }

  /** The tenant's users, by email. */
  async listUsers(actor: TenantActor, first: number, after?: string | null): Promise<Connection<UserRow>> {
    requireAction(actor, Action.ManageRoles);
    return this.identities.listUsers(actor.tenantId, { first, after });
  }
}

function invalidSlug(): never {
  throw invalidInput("slug", "must be 1 to 63 lower-case letters, digits and inner hyphens");
}

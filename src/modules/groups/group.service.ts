import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { requireBaseFor } from "../../authorization/resource-access.js";
import type { Database } from "../../database/database.js";
import { invalidInput, notFound } from "../../errors/domain-error.js";
import { requireUuid } from "../../shared/ids.js";
import type { Connection, PageRequest } from "../../shared/keyset.js";
import { userIdOf, type TenantActor } from "../../identity/actor.js";
import type { BaseStore } from "../../stores/base.store.js";
import type { GroupStore } from "../../stores/group.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { GROUP_DESCRIPTION_MAX, GROUP_NAME_MAX, type Group } from "./group.type.js";

export interface GroupInput {
  name?: string | null;
  description?: string | null;
}

/**
 * Groups: named sets of policy and flow bases. Everyone in the tenant sees every group; editors create, edit
 * and change members; admins delete. Every change commits together with its audit event.
 */
export class GroupService {
  constructor(
    private readonly database: Database,
    private readonly groups: GroupStore,
    private readonly bases: BaseStore,
  ) {}

  /** The tenant's groups by name. */
  async list(actor: TenantActor, page: PageRequest): Promise<Connection<Group>> {
    const { tenantId } = requireAction(actor, Action.ReadResources);
    return this.groups.list(tenantId, page);
  }

  async get(actor: TenantActor, id: string): Promise<Group> {
    const { tenantId } = requireAction(actor, Action.ReadResources);
    const group = await this.groups.find(tenantId, requireUuid(id, "Group"));
    if (!group) throw notFound("Group", id);
    return group;
  }

  async create(actor: TenantActor, input: GroupInput): Promise<Group> {
    requireAction(actor, Action.EditGroups);
    const name = validName(input.name);
    const description = validDescription(input.description) ?? "";
    const userId = userIdOf(actor);
    return inTransaction(this.database, async (tx) => {
      const group = await this.groups.create(tx, { tenantId: actor.tenantId, name, description, createdById: userId, updatedById: userId });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "CREATED",
        resourceKind: "GROUP",
        groupId: group.id,
        detail: { name, description },
      });
      return group;
    });
  }

  async update(actor: TenantActor, id: string, input: GroupInput): Promise<Group> {
    requireAction(actor, Action.EditGroups);
    const groupId = requireUuid(id, "Group");
    const name = input.name == null ? undefined : validName(input.name);
    const description = validDescription(input.description);
    if (name === undefined && description === undefined) throw invalidInput("input", "names nothing to change");
    return inTransaction(this.database, async (tx) => {
      const before = await this.groups.lock(tx, actor.tenantId, groupId, "update");
      const changed: Record<string, { from: string; to: string }> = {};
      if (name !== undefined && name !== before.name) changed.name = { from: before.name, to: name };
      if (description !== undefined && description !== before.description) changed.description = { from: before.description, to: description };
      if (Object.keys(changed).length === 0) return before; // nothing to write, nothing to record
      const group = await this.groups.update(tx, groupId, {
        ...(changed.name ? { name } : {}),
        ...(changed.description ? { description } : {}),
        updatedById: userIdOf(actor),
        updatedAt: new Date(),
      });
      await recordAuditEvent(tx, actor, actor.tenantId, { action: "EDITED", resourceKind: "GROUP", groupId, detail: { changed } });
      return group;
    });
  }

  /** Deletes the group and its memberships; the bases stay. Returns the deleted group's ID. */
  async delete(actor: TenantActor, id: string): Promise<string> {
    requireAction(actor, Action.DeleteGroups);
    const groupId = requireUuid(id, "Group");
    return inTransaction(this.database, async (tx) => {
      const group = await this.groups.lock(tx, actor.tenantId, groupId, "update");
      const count = await this.groups.delete(tx, groupId);
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "DELETED",
        resourceKind: "GROUP",
        groupId,
        detail: { name: group.name, removedMemberships: count },
      });
      return groupId;
    });
  }

  /** Adds a policy or flow base to the group; adding a member twice changes nothing (and records nothing). */
  async addMember(actor: TenantActor, id: string, baseId: string): Promise<Group> {
    return this.changeMembership(actor, id, baseId, "added");
  }

  /** Removes a base from the group; removing a base that is not a member changes nothing. */
  async removeMember(actor: TenantActor, id: string, baseId: string): Promise<Group> {
    return this.changeMembership(actor, id, baseId, "removed");
  }

  private async changeMembership(actor: TenantActor, id: string, rawBaseId: string, change: "added" | "removed"): Promise<Group> {
    requireAction(actor, Action.EditGroups);
    const groupId = requireUuid(id, "Group");
    const baseId = requireUuid(rawBaseId, "Resource");
    return inTransaction(this.database, async (tx) => {
      // Shared locks: membership changes of one group run side by side, but not beside its deletion, and a
      // base cannot be soft-deleted between the check and the change.
      const group = await this.groups.lock(tx, actor.tenantId, groupId, "share");
      const base = await this.bases.lock(tx, baseId, "share");
      requireBaseFor(actor, base, Action.EditGroups, rawBaseId);
      const changed =
        change === "added"
          ? await this.groups.addMember(tx, { groupId, baseId, tenantId: actor.tenantId, addedById: userIdOf(actor) })
          : await this.groups.removeMember(tx, groupId, baseId);
      if (changed) {
        await recordAuditEvent(tx, actor, actor.tenantId, {
          action: "ASSIGNED",
          resourceKind: base!.kind,
          baseId,
          groupId,
          detail: { membership: change, group: group.name },
        });
      }
      return group;
    });
  }
}

/** Postgres text cannot hold these (nor NUL). */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function validName(raw: string | null | undefined): string {
  const name = (raw ?? "").trim();
  if (name.length === 0) throw invalidInput("name", "must not be empty");
  if (name.length > GROUP_NAME_MAX) throw invalidInput("name", `must be at most ${GROUP_NAME_MAX} characters`);
  if (/\p{Cc}/u.test(name) || UNPAIRED_SURROGATE.test(name)) throw invalidInput("name", "must not contain control characters or unpaired surrogates");
  return name;
}

function validDescription(raw: string | null | undefined): string | undefined {
  if (raw == null) return undefined;
  const description = raw.trim();
  if (description.length > GROUP_DESCRIPTION_MAX) throw invalidInput("description", `must be at most ${GROUP_DESCRIPTION_MAX} characters`);
  if (description.includes("\0") || UNPAIRED_SURROGATE.test(description))
    throw invalidInput("description", "must not contain NUL characters or unpaired surrogates");
  return description;
}

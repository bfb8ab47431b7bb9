import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { requireBaseFor, type BaseAccessFacts } from "../../authorization/resource-access.js";
import type { Database } from "../../database/database.js";
import { conflict, invalidInput, notFound } from "../../errors/domain-error.js";
import type { Prisma } from "../../generated/prisma/client.js";
import type { BaseKind } from "../../generated/prisma/enums.js";
import { requireUuid } from "../../graphql/ids.js";
import { decodeCursor, encodeCursor, toConnection, type Connection } from "../../graphql/pagination.js";
import { userIdOf, type Principal } from "../../identity/principal.js";
import { recordAuditEvent, type Transaction } from "../audit/audit-recorder.js";
import { GROUP_DESCRIPTION_MAX, GROUP_NAME_MAX, type Group } from "./group.type.js";

export interface GroupInput {
  name?: string | null;
  description?: string | null;
}

export interface PageRequest {
  first: number;
  after?: string | null;
}

const MAX_PAGE = 100;

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown })?.code === "P2002";

/**
 * Groups: named sets of policy and flow bases. Everyone in the tenant sees every group; editors create, edit
 * and change members; admins delete. Every change commits together with its audit event.
 */
export class GroupService {
  constructor(private readonly database: Database) {}

  /** The tenant's groups by name. */
  async list(principal: Principal | null, page: PageRequest): Promise<Connection<Group>> {
    const { tenantId } = requireAction(principal, Action.ReadResources);
    const first = pageSize(page.first);
    const where: Prisma.GroupWhereInput = { tenantId };
    let pageWhere = where;
    if (page.after) {
      const [name, id] = decodeCursor(page.after, 2);
      if (typeof name !== "string" || typeof id !== "string") throw invalidInput("after", "is not a cursor this API produced");
      pageWhere = { tenantId, OR: [{ name: { gt: name } }, { name, id: { gt: requireUuidCursor(id) } }] };
    }
    const [rows, totalCount] = await Promise.all([
      this.database.prisma.group.findMany({ where: pageWhere, orderBy: [{ name: "asc" }, { id: "asc" }], take: first + 1 }),
      this.database.prisma.group.count({ where }),
    ]);
    return toConnection(rows, first, totalCount, (group) => encodeCursor([group.name, group.id]));
  }

  async get(principal: Principal | null, id: string): Promise<Group> {
    const { tenantId } = requireAction(principal, Action.ReadResources);
    const group = await this.database.prisma.group.findFirst({ where: { id: requireUuid(id, "Group"), tenantId } });
    if (!group) throw notFound("Group", id);
    return group;
  }

  async create(principal: Principal | null, input: GroupInput): Promise<Group> {
    const actor = requireAction(principal, Action.EditGroups);
    const name = validName(input.name);
    const description = validDescription(input.description) ?? "";
    const userId = userIdOf(actor);
    return this.write(name, async (tx) => {
      const group = await tx.group.create({
        data: { tenantId: actor.tenantId, name, description, createdById: userId, updatedById: userId },
      });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "CREATED",
        resourceKind: "GROUP",
        groupId: group.id,
        detail: { name, description },
      });
      return group;
    });
  }

  async update(principal: Principal | null, id: string, input: GroupInput): Promise<Group> {
    const actor = requireAction(principal, Action.EditGroups);
    const groupId = requireUuid(id, "Group");
    const name = input.name == null ? undefined : validName(input.name);
    const description = validDescription(input.description);
    if (name === undefined && description === undefined) throw invalidInput("input", "names nothing to change");
    return this.write(name ?? "", async (tx) => {
      const before = await lockGroup(tx, actor.tenantId, groupId, "exclusive");
      const changed: Record<string, { from: string; to: string }> = {};
      if (name !== undefined && name !== before.name) changed.name = { from: before.name, to: name };
      if (description !== undefined && description !== before.description) changed.description = { from: before.description, to: description };
      if (Object.keys(changed).length === 0) return before; // nothing to write, nothing to record
      const group = await tx.group.update({
        where: { id: groupId },
        data: {
          ...(changed.name ? { name } : {}),
          ...(changed.description ? { description } : {}),
          updatedById: userIdOf(actor),
          updatedAt: new Date(),
        },
      });
      await recordAuditEvent(tx, actor, actor.tenantId, { action: "EDITED", resourceKind: "GROUP", groupId, detail: { changed } });
      return group;
    });
  }

  /** Deletes the group and its memberships; the bases stay. Returns the deleted group's ID. */
  async delete(principal: Principal | null, id: string): Promise<string> {
    const actor = requireAction(principal, Action.DeleteGroups);
    const groupId = requireUuid(id, "Group");
    return this.database.prisma.$transaction(async (tx) => {
      const group = await lockGroup(tx, actor.tenantId, groupId, "exclusive");
      const { count } = await tx.groupMember.deleteMany({ where: { groupId } });
      await tx.group.delete({ where: { id: groupId } });
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
  async addMember(principal: Principal | null, id: string, baseId: string): Promise<Group> {
    return this.changeMembership(principal, id, baseId, "added");
  }

  /** Removes a base from the group; removing a base that is not a member changes nothing. */
  async removeMember(principal: Principal | null, id: string, baseId: string): Promise<Group> {
    return this.changeMembership(principal, id, baseId, "removed");
  }

  private async changeMembership(principal: Principal | null, id: string, rawBaseId: string, change: "added" | "removed"): Promise<Group> {
    const actor = requireAction(principal, Action.EditGroups);
    const groupId = requireUuid(id, "Group");
    const baseId = requireUuid(rawBaseId, "Resource");
    return this.database.prisma.$transaction(async (tx) => {
      // Shared locks: membership changes of one group run side by side, but not beside its deletion, and a
      // base cannot be soft-deleted between the check and the change.
      const group = await lockGroup(tx, actor.tenantId, groupId, "shared");
      const base = await lockBase(tx, baseId);
      requireBaseFor(actor, base, Action.EditGroups, rawBaseId);
      let changed: boolean;
      if (change === "added") {
        const { count } = await tx.groupMember.createMany({
          data: [{ groupId, baseId, tenantId: actor.tenantId, addedById: userIdOf(actor) }],
          skipDuplicates: true,
        });
        changed = count > 0;
      } else {
        const { count } = await tx.groupMember.deleteMany({ where: { groupId, baseId } });
        changed = count > 0;
      }
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

  /** Runs a write that may collide with another group's name. */
  private async write<T>(name: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
    try {
      return await this.database.prisma.$transaction(work);
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`A group named "${name}" already exists`, { name });
      throw error;
    }
  }
}

type BaseFacts = BaseAccessFacts & { kind: BaseKind };

async function lockGroup(tx: Transaction, tenantId: string, groupId: string, mode: "shared" | "exclusive"): Promise<Group> {
  const rows =
    mode === "shared"
      ? await tx.$queryRaw<{ id: string }[]>`SELECT id FROM groups WHERE id = ${groupId}::uuid AND tenant_id = ${tenantId}::uuid FOR SHARE`
      : await tx.$queryRaw<{ id: string }[]>`SELECT id FROM groups WHERE id = ${groupId}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
  if (rows.length === 0) throw notFound("Group", groupId);
  return (await tx.group.findUniqueOrThrow({ where: { id: groupId } })) as Group;
}

async function lockBase(tx: Transaction, baseId: string): Promise<BaseFacts | null> {
  const [row] = await tx.$queryRaw<
    { id: string; tenant_id: string; kind: BaseKind; ownership: BaseFacts["ownership"]; owner_id: string | null; deleted_at: Date | null }[]
  >`SELECT id, tenant_id, kind, ownership, owner_id, deleted_at FROM bases WHERE id = ${baseId}::uuid FOR SHARE`;
  return row
    ? { id: row.id, tenantId: row.tenant_id, kind: row.kind, ownership: row.ownership, ownerId: row.owner_id, deletedAt: row.deleted_at }
    : null;
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
  if (description.includes("\0") || UNPAIRED_SURROGATE.test(description)) throw invalidInput("description", "must not contain NUL characters or unpaired surrogates");
  return description;
}

function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw invalidInput("first", `must be between 1 and ${MAX_PAGE}`);
  return first;
}

function requireUuidCursor(id: string): string {
  try {
    return requireUuid(id, "cursor");
  } catch {
    throw invalidInput("after", "is not a cursor this API produced");
  }
}

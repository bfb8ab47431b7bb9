import type { Database } from "../database/database.js";
import { type Base, type Group, Prisma } from "../generated/prisma/client.js";
import type { BaseKind } from "../generated/prisma/enums.js";
import { conflict, notFound } from "../errors/domain-error.js";
import {
  type Connection,
  cursorOf,
  type Keyset,
  keysetPage,
  type PageRequest,
  readCursor,
  requirePageSize,
  textColumn,
  toConnection,
  uuidColumn,
} from "../shared/keyset.js";
import { BASE_COLUMNS_SQL, BASE_KEYSET, baseFromSql, type BaseSqlRow, listedSql, type ListingScope } from "./base.store.js";
import { isUniqueViolation, type Transaction } from "./transaction.js";

export type { Group };

const GROUP_KEYSET: Keyset<Group> = { columns: [textColumn("name"), uuidColumn("id")], direction: "asc" };

/** Member pages of several groups that share one shape (listing scope, kind, page), asked for together. */
export interface MemberPagesRequest {
  scope: ListingScope;
  groupIds: readonly string[];
  kind: BaseKind;
  page: PageRequest;
}

/** Groups and their memberships: every statement on `groups` and `group_members`. */
export class GroupStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  /** The tenant's groups by name. */
  list(tenantId: string, page: PageRequest): Promise<Connection<Group>> {
    return keysetPage(GROUP_KEYSET, page, { tenantId } as Prisma.GroupWhereInput, {
      find: (args) => this.prisma.group.findMany(args),
      count: (args) => this.prisma.group.count(args),
    });
  }

  find(tenantId: string, groupId: string): Promise<Group | null> {
    return this.prisma.group.findFirst({ where: { id: groupId, tenantId } });
  }

  /**
   * Locks the tenant's group until the transaction ends and reads it; NOT_FOUND when the tenant has no such
   * group. `share`: membership changes of one group run side by side, but not beside its deletion.
   */
  async lock(tx: Transaction, tenantId: string, groupId: string, mode: "share" | "update"): Promise<Group> {
    const rows =
      mode === "share"
        ? await tx.$queryRaw<{ id: string }[]>`SELECT id FROM groups WHERE id = ${groupId}::uuid AND tenant_id = ${tenantId}::uuid FOR SHARE`
        : await tx.$queryRaw<{ id: string }[]>`SELECT id FROM groups WHERE id = ${groupId}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
    if (rows.length === 0) throw notFound("Group", groupId);
    return tx.group.findUniqueOrThrow({ where: { id: groupId } });
  }

  /** CONFLICT when the tenant already has a group of that name. */
  create(tx: Transaction, data: Prisma.GroupUncheckedCreateInput): Promise<Group> {
    return uniqueName(data.name, () => tx.group.create({ data }));
  }

  update(tx: Transaction, groupId: string, data: Prisma.GroupUncheckedUpdateInput): Promise<Group> {
    return uniqueName(String(data.name ?? ""), () => tx.group.update({ where: { id: groupId }, data }));
  }

  /** Deletes the group and its memberships; returns how many memberships went with it. */
  async delete(tx: Transaction, groupId: string): Promise<number> {
    const { count } = await tx.groupMember.deleteMany({ where: { groupId } });
    await tx.group.delete({ where: { id: groupId } });
    return count;
  }

  /** Whether the base became a member (false: it already was). */
  async addMember(tx: Transaction, member: { tenantId: string; groupId: string; baseId: string; addedById: string | null }): Promise<boolean> {
    const { count } = await tx.groupMember.createMany({ data: [member], skipDuplicates: true });
    return count > 0;
  }

  /** Whether the base stopped being a member (false: it was not one). */
  async removeMember(tx: Transaction, groupId: string, baseId: string): Promise<boolean> {
    const { count } = await tx.groupMember.deleteMany({ where: { groupId, baseId } });
    return count > 0;
  }

  /**
   * A page of members of one kind for each group, listed for the scope, by name: two statements however many
   * groups are asked for (a window function pages every group at once).
   */
  async memberPages(request: MemberPagesRequest): Promise<Map<string, Connection<Base>>> {
    const { scope, kind } = request;
    const first = requirePageSize(request.page.first);
    const after = request.page.after ? (readCursor(BASE_KEYSET, request.page.after) as [string, string]) : null;
    const groupIds = [...new Set(request.groupIds)];
    const members = Prisma.sql`FROM group_members m JOIN bases b ON b.id = m.base_id
      WHERE m.group_id = ANY(${groupIds}::uuid[]) AND m.tenant_id = ${scope.tenantId}::uuid
        AND b.kind = ${kind}::"BaseKind" AND ${listedSql(scope)}`;
    const [counts, rows] = await Promise.all([
      this.prisma.$queryRaw<{ group_id: string; total: bigint }[]>`SELECT m.group_id, count(*) AS total ${members} GROUP BY m.group_id`,
      this.prisma.$queryRaw<(BaseSqlRow & { group_id: string })[]>`
        SELECT * FROM (
          SELECT m.group_id, ${BASE_COLUMNS_SQL}, row_number() OVER (PARTITION BY m.group_id ORDER BY b.name, b.id) AS position
          ${members}
            AND (${after?.[0] ?? null}::text IS NULL OR (b.name, b.id) > (${after?.[0] ?? null}::text, ${after?.[1] ?? null}::uuid))
        ) page
        WHERE page.position <= ${first + 1}
        ORDER BY page.group_id, page.position`,
    ]);
    const totals = new Map(counts.map((c) => [c.group_id, Number(c.total)]));
    const byGroup = new Map<string, Base[]>();
    for (const row of rows) {
      let list = byGroup.get(row.group_id);
      if (!list) byGroup.set(row.group_id, (list = []));
      list.push(baseFromSql(row));
    }
    return new Map(groupIds.map((id) => [id, toConnection(byGroup.get(id) ?? [], first, totals.get(id) ?? 0, (base) => cursorOf(BASE_KEYSET, base))]));
  }

  /** The groups of each base, ordered by name, in one statement. */
  async groupsOfBases(baseIds: readonly string[]): Promise<Map<string, Group[]>> {
    const memberships = await this.prisma.groupMember.findMany({
      where: { baseId: { in: [...baseIds] } },
      include: { group: true },
      orderBy: [{ group: { name: "asc" } }, { groupId: "asc" }],
    });
    const byBase = new Map<string, Group[]>();
    for (const { baseId, group } of memberships) {
      let list = byBase.get(baseId);
      if (!list) byBase.set(baseId, (list = []));
      list.push(group);
    }
    return byBase;
  }
}

async function uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`A group named "${name}" already exists`, { name });
    throw error;
  }
}

import DataLoader from "dataloader";
import { isListedFor } from "../../authorization/resource-access.js";
import type { Database } from "../../database/database.js";
import type { BaseKind, Ownership } from "../../generated/prisma/enums.js";
import { decodeCursor, encodeCursor, toConnection, type Connection } from "../../graphql/pagination.js";
import { invalidInput } from "../../errors/domain-error.js";
import { isUuid } from "../../graphql/ids.js";
import type { Principal } from "../../identity/principal.js";
import type { Base } from "../resources/resource.types.js";
import type { Group } from "./group.type.js";

/** One page of a group's members of one kind, as the caller may see them. */
export interface GroupMembersKey {
  principal: Principal;
  groupId: string;
  kind: BaseKind;
  first: number;
  after: string | null;
}

export interface GroupLoaders {
  /** Pages of members across many groups in two SQL statements per distinct (kind, page) shape. */
  groupMembers: DataLoader<GroupMembersKey, Connection<Base>, string>;
  /** The groups each base belongs to, by base ID, ordered by name. */
  groupsOfBase: DataLoader<string, Group[]>;
}

export const baseCursor = (base: { name: string; id: string }): string => encodeCursor([base.name, base.id]);

function decodeBaseCursor(cursor: string): { name: string; id: string } {
  const [name, id] = decodeCursor(cursor, 2);
  if (typeof name !== "string" || typeof id !== "string" || !isUuid(id)) throw invalidInput("after", "is not a cursor this API produced");
  return { name, id };
}

const viewerIdOf = (principal: Principal): string | null => (principal.kind === "user" ? principal.userId : null);

interface BaseRow {
  group_id: string;
  id: string;
  tenant_id: string;
  kind: BaseKind;
  name: string;
  ownership: Ownership;
  owner_id: string | null;
  latest_version_number: number;
  created_by_id: string | null;
  updated_by_id: string | null;
  created_at: Date;
  updated_at: Date;
  first_published_at: Date | null;
  deleted_at: Date | null;
}

const toBase = (row: BaseRow): Base => ({
  id: row.id,
  tenantId: row.tenant_id,
  kind: row.kind,
  name: row.name,
  ownership: row.ownership,
  ownerId: row.owner_id,
  latestVersionNumber: row.latest_version_number,
  createdById: row.created_by_id,
  updatedById: row.updated_by_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  firstPublishedAt: row.first_published_at,
  deletedAt: row.deleted_at,
});

export function createGroupLoaders({ prisma }: Database): GroupLoaders {
  /**
   * Listing rule (the SQL form of `isListedFor`): the caller's tenant, not deleted, and organisation-owned or
   * owned by the caller. Rows are checked again with `isListedFor` itself, so the two can never disagree
   * silently in the caller's favour.
   */
  async function pagesFor(keys: readonly GroupMembersKey[]): Promise<Map<string, Connection<Base>>> {
    const { principal, kind, first } = keys[0]!;
    const after = keys[0]!.after ? decodeBaseCursor(keys[0]!.after) : null;
    const groupIds = [...new Set(keys.map((k) => k.groupId))];
    const viewerId = viewerIdOf(principal);
    const [counts, rows] = await Promise.all([
      prisma.$queryRaw<{ group_id: string; total: bigint }[]>`
        SELECT m.group_id, count(*) AS total
        FROM group_members m JOIN bases b ON b.id = m.base_id
        WHERE m.group_id = ANY(${groupIds}::uuid[]) AND m.tenant_id = ${principal.tenantId}::uuid
          AND b.tenant_id = ${principal.tenantId}::uuid AND b.kind = ${kind}::"BaseKind" AND b.deleted_at IS NULL
          AND (b.ownership = 'ORGANISATION_OWNED' OR b.owner_id = ${viewerId}::uuid)
        GROUP BY m.group_id`,
      prisma.$queryRaw<BaseRow[]>`
        SELECT * FROM (
          SELECT m.group_id, b.id, b.tenant_id, b.kind, b.name, b.ownership, b.owner_id, b.latest_version_number,
                 b.created_by_id, b.updated_by_id, b.created_at, b.updated_at, b.first_published_at, b.deleted_at,
                 row_number() OVER (PARTITION BY m.group_id ORDER BY b.name, b.id) AS position
          FROM group_members m JOIN bases b ON b.id = m.base_id
          WHERE m.group_id = ANY(${groupIds}::uuid[]) AND m.tenant_id = ${principal.tenantId}::uuid
            AND b.tenant_id = ${principal.tenantId}::uuid AND b.kind = ${kind}::"BaseKind" AND b.deleted_at IS NULL
            AND (b.ownership = 'ORGANISATION_OWNED' OR b.owner_id = ${viewerId}::uuid)
            AND (${after?.name ?? null}::text IS NULL OR (b.name, b.id) > (${after?.name ?? null}::text, ${after?.id ?? null}::uuid))
        ) page
        WHERE page.position <= ${first + 1}
        ORDER BY page.group_id, page.position`,
    ]);
    const totals = new Map(counts.map((c) => [c.group_id, Number(c.total)]));
    const byGroup = new Map<string, Base[]>();
    for (const row of rows) {
      const base = toBase(row);
      if (!isListedFor(principal, base)) continue;
      let list = byGroup.get(row.group_id);
      if (!list) byGroup.set(row.group_id, (list = []));
      list.push(base);
    }
    return new Map(groupIds.map((id) => [id, toConnection(byGroup.get(id) ?? [], first, totals.get(id) ?? 0, baseCursor)]));
  }

  const shapeOf = (key: GroupMembersKey): string =>
    JSON.stringify([key.principal.tenantId, viewerIdOf(key.principal), key.kind, key.first, key.after]);

  return {
    groupMembers: new DataLoader<GroupMembersKey, Connection<Base>, string>(
      async (keys) => {
        const shapes = new Map<string, GroupMembersKey[]>();
        for (const key of keys) {
          const shape = shapeOf(key);
          shapes.set(shape, [...(shapes.get(shape) ?? []), key]);
        }
        const results = new Map<string, Promise<Map<string, Connection<Base>>>>();
        for (const [shape, bucket] of shapes) results.set(shape, pagesFor(bucket));
        return Promise.all(
          keys.map(async (key) => {
            try {
              return (await results.get(shapeOf(key))!).get(key.groupId)!;
            } catch (error) {
              return error as Error;
            }
          }),
        );
      },
      { cacheKeyFn: (key) => `${shapeOf(key)}|${key.groupId}` },
    ),

    groupsOfBase: new DataLoader<string, Group[]>(async (baseIds) => {
      const memberships = await prisma.groupMember.findMany({
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
      return baseIds.map((id) => byBase.get(id) ?? []);
    }),
  };
}

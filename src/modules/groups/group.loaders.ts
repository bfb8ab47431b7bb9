import DataLoader from "dataloader";
import { listingScopeOf } from "../../authorization/resource-access.js";
import type { BaseKind } from "../../generated/prisma/enums.js";
import type { TenantActor } from "../../identity/actor.js";
import type { Connection } from "../../shared/keyset.js";
import type { GroupStore } from "../../stores/group.store.js";
import type { Base } from "../resources/resource.types.js";
import type { Group } from "./group.type.js";

/** One page of a group's members of one kind, as the caller may see them. */
export interface GroupMembersKey {
  actor: TenantActor;
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

export function createGroupLoaders(groups: GroupStore): GroupLoaders {
  /** Every key of a bucket has the same shape: one call to the store pages all their groups. */
  function pagesFor(keys: readonly GroupMembersKey[]): Promise<Map<string, Connection<Base>>> {
    const { actor, kind, first, after } = keys[0]!;
    return groups.memberPages({ scope: listingScopeOf(actor), groupIds: keys.map((k) => k.groupId), kind, page: { first, after } });
  }

  const shapeOf = (key: GroupMembersKey): string => JSON.stringify([listingScopeOf(key.actor), key.kind, key.first, key.after]);

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
      const byBase = await groups.groupsOfBases(baseIds);
      return baseIds.map((id) => byBase.get(id) ?? []);
    }),
  };
}

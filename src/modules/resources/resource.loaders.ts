import DataLoader from "dataloader";
import type { Base, BaseStore } from "../../stores/base.store.js";
import { toDraft, toVersion } from "./record-mapping.js";
import type { Draft, Version } from "./resource.types.js";

export interface ResourceLoaders {
  baseById: DataLoader<string, Base | null>;
  draftByBaseId: DataLoader<string, Draft | null>;
  /** Newest first. */
  versionsByBaseId: DataLoader<string, Version[]>;
}

/** One query per kind of relation per request, whatever the number of bases listed. */
export function createResourceLoaders(bases: BaseStore): ResourceLoaders {
  return {
    baseById: new DataLoader(async (ids) => {
      const byId = new Map((await bases.basesByIds(ids)).map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    draftByBaseId: new DataLoader(async (baseIds) => {
      const byBase = new Map((await bases.draftsOfBases(baseIds)).map((row) => [row.baseId, toDraft(row)]));
      return baseIds.map((id) => byBase.get(id) ?? null);
    }),
    versionsByBaseId: new DataLoader(async (baseIds) => {
      const byBase = new Map<string, Version[]>(baseIds.map((id) => [id, []]));
      for (const row of await bases.versionsOfBases(baseIds)) byBase.get(row.baseId)?.push(toVersion(row));
      return baseIds.map((id) => byBase.get(id) ?? []);
    }),
  };
}

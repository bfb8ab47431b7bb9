import DataLoader from "dataloader";
import type { Database } from "../../database/database.js";
import type { Base as BaseRow } from "../../generated/prisma/client.js";
import { toDraft, toVersion } from "./record-mapping.js";
import type { Draft, Version } from "./resource.types.js";

export interface ResourceLoaders {
  baseById: DataLoader<string, BaseRow | null>;
  draftByBaseId: DataLoader<string, Draft | null>;
  /** Newest first. */
  versionsByBaseId: DataLoader<string, Version[]>;
}

/** One query per kind of relation per request, whatever the number of bases listed. */
export function createResourceLoaders({ prisma }: Database): ResourceLoaders {
  return {
    baseById: new DataLoader(async (ids) => {
      const rows = await prisma.base.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    draftByBaseId: new DataLoader(async (baseIds) => {
      const rows = await prisma.draft.findMany({ where: { baseId: { in: [...baseIds] } } });
      const byBase = new Map(rows.map((row) => [row.baseId, toDraft(row)]));
      return baseIds.map((id) => byBase.get(id) ?? null);
    }),
    versionsByBaseId: new DataLoader(async (baseIds) => {
      const rows = await prisma.version.findMany({ where: { baseId: { in: [...baseIds] } }, orderBy: [{ baseId: "asc" }, { number: "desc" }] });
      const byBase = new Map<string, Version[]>(baseIds.map((id) => [id, []]));
      for (const row of rows) byBase.get(row.baseId)?.push(toVersion(row));
      return baseIds.map((id) => byBase.get(id) ?? []);
    }),
  };
}

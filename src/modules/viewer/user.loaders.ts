import DataLoader from "dataloader";
import type { Database } from "../../database/database.js";

export interface UserLoaders {
  userById: DataLoader<string, { id: string; tenantId: string; email: string; name: string; roles: string[] } | null>;
}

export function createUserLoaders({ prisma }: Database): UserLoaders {
  return {
    userById: new DataLoader(async (ids) => {
      const rows = await prisma.user.findMany({ where: { id: { in: [...ids] } }, select: { id: true, tenantId: true, email: true, name: true, roles: true } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

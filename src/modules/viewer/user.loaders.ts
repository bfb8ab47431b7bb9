import DataLoader from "dataloader";
import type { IdentityStore, UserRow } from "../../stores/identity.store.js";

export interface UserLoaders {
  userById: DataLoader<string, UserRow | null>;
}

export function createUserLoaders(identities: IdentityStore): UserLoaders {
  return {
    userById: new DataLoader(async (ids) => {
      const byId = new Map((await identities.usersByIds(ids)).map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

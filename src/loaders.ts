import type { Stores } from "./stores/index.js";
import { createGroupLoaders, type GroupLoaders } from "./modules/groups/group.loaders.js";
import { createResourceLoaders, type ResourceLoaders } from "./modules/resources/resource.loaders.js";
import { createUserLoaders, type UserLoaders } from "./modules/viewer/user.loaders.js";
import { type CatalogueLoaders, createCatalogueLoaders } from "./modules/catalogue/catalogue.loaders.js";

/** Every module's DataLoaders, created fresh for each request. */
export interface Loaders extends UserLoaders, ResourceLoaders, GroupLoaders, CatalogueLoaders {}

export function createLoaders(stores: Stores): Loaders {
  return {
    ...createUserLoaders(stores.identities),
    ...createResourceLoaders(stores.bases),
    ...createGroupLoaders(stores.groups),
    ...createCatalogueLoaders(stores.bases),
  };
}

import type { Database } from "../database/database.js";
import { createGroupLoaders, type GroupLoaders } from "../modules/groups/group.loaders.js";
import { createResourceLoaders, type ResourceLoaders } from "../modules/resources/resource.loaders.js";
import { createUserLoaders, type UserLoaders } from "../modules/viewer/user.loaders.js";

/** Every module's DataLoaders, created fresh for each request. */
export interface Loaders extends UserLoaders, ResourceLoaders, GroupLoaders {}

export function createLoaders(database: Database): Loaders {
  return { ...createUserLoaders(database), ...createResourceLoaders(database), ...createGroupLoaders(database) };
}

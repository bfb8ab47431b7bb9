import type { Stores } from "./stores/index.js";
import { createGroupLoaders, type GroupLoaders } from "./modules/groups/group.loaders.js";
import { createResourceLoaders, type ResourceLoaders } from "./modules/resources/resource.loaders.js";
import { createUserLoaders, type UserLoaders } from "./modules/viewer/user.loaders.js";
import { type CatalogueLoaders, createCatalogueLoaders } from "./modules/catalogue/catalogue.loaders.js";

/** Every module's DataLoaders, fresh for each request. */
export interface Loaders extends UserLoaders, ResourceLoaders, GroupLoaders, CatalogueLoaders {}

/** Each module's loaders, created together. A factory only closes over its store: nothing is read when it runs. */
const FACTORIES: readonly ((stores: Stores) => object)[] = [
  (stores) => createUserLoaders(stores.identities),
  (stores) => createResourceLoaders(stores.bases),
  (stores) => createGroupLoaders(stores.groups),
  (stores) => createCatalogueLoaders(stores.bases),
];

/**
 * A request's loaders, each module's created when a resolver first asks for one of them: most requests (a run,
 * `viewer`) use none, and building all eight DataLoaders was a measurable part of a trivial query (bench:graphql).
 * Still one set per request, so batching never mixes requests (or tenants) and nothing is cached across them.
 */
class LazyLoaders {
  readonly created: (Record<string, unknown> | undefined)[] = [];
  constructor(readonly stores: Stores) {}
}

// One getter per loader name on the prototype, found once by running each factory over stand-in stores.
const STAND_IN = { identities: {}, bases: {}, groups: {} } as unknown as Stores;
FACTORIES.forEach((factory, index) => {
  for (const name of Object.keys(factory(STAND_IN))) {
    if (name in LazyLoaders.prototype || name === "created" || name === "stores") throw new Error(`The loader name ${name} is taken`);
    Object.defineProperty(LazyLoaders.prototype, name, {
      get(this: LazyLoaders) {
        this.created[index] ??= factory(this.stores) as Record<string, unknown>;
        return this.created[index][name];
      },
    });
  }
});

export function createLoaders(stores: Stores): Loaders {
  return new LazyLoaders(stores) as unknown as Loaders;
}

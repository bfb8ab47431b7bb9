import type { Database } from "./database/database.js";
import { ApiKeyService } from "./modules/identity/api-key.service.js";
import { OwnershipService } from "./modules/identity/ownership.service.js";
import { UserService } from "./modules/identity/user.service.js";
import { SystemService } from "./modules/system/system.service.js";
import { ViewerService } from "./modules/viewer/viewer.service.js";

/** The per-process service graph. Services hold the rules; resolvers and routes only translate. */
export interface Services {
  system: SystemService;
  viewer: ViewerService;
  users: UserService;
  apiKeys: ApiKeyService;
  ownership: OwnershipService;
}

export function createServices(database: Database): Services {
  return {
    system: new SystemService(database),
    viewer: new ViewerService(database),
    users: new UserService(database),
    apiKeys: new ApiKeyService(database),
    ownership: new OwnershipService(database),
  };
}

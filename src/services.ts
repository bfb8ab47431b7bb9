import type { Database } from "./database/database.js";
import { SystemService } from "./modules/system/system.service.js";
import { ViewerService } from "./modules/viewer/viewer.service.js";

/** The per-process service graph. Services hold the rules; resolvers and routes only translate. */
export interface Services {
  system: SystemService;
  viewer: ViewerService;
}

export function createServices(database: Database): Services {
  return {
    system: new SystemService(database),
    viewer: new ViewerService(database),
  };
}

import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../project-root.js";
import type { SystemStore } from "../../stores/system.store.js";
import type { ServerVersion } from "./system.type.js";

const GATEWAY_VERSION: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).version;

export class SystemService {
  constructor(private readonly store: SystemStore) {}

  async version(): Promise<ServerVersion> {
    const [database, migrations] = await Promise.all([this.store.serverVersion(), this.store.appliedMigrations()]);
    return { gateway: GATEWAY_VERSION, database: database ?? "unknown", migration: migrations.at(-1) ?? null };
  }
}

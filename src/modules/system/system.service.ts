import { readFileSync } from "node:fs";
import type { Database } from "../../database/database.js";
import type { ServerVersion } from "./system.type.js";

const GATEWAY_VERSION: string = JSON.parse(
  readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
).version;

export class SystemService {
  constructor(private readonly database: Database) {}

  async version(): Promise<ServerVersion> {
    const [rows, migrations] = await Promise.all([
      this.database.prisma.$queryRaw<{ version: string }[]>`SELECT version() AS version`,
      this.database.appliedMigrations(),
    ]);
    return { gateway: GATEWAY_VERSION, database: rows[0]?.version ?? "unknown", migration: migrations.at(-1) ?? null };
  }
}

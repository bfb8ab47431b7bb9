import type { Database } from "../database/database.js";

/** What the database says about itself. */
export class SystemStore {
  constructor(private readonly database: Database) {}

  async serverVersion(): Promise<string | null> {
    const rows = await this.database.prisma.$queryRaw<{ version: string }[]>`SELECT version() AS version`;
    return rows[0]?.version ?? null;
  }

  appliedMigrations(): Promise<string[]> {
    return this.database.appliedMigrations();
  }
}

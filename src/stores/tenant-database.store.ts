import type { Database } from "../database/database.js";
import { inTransaction } from "./transaction.js";

/**
 * A binding change announces the tenant's ID on this channel inside its transaction; every gateway's registry
 * cache (src/tenant-databases.ts) listens on the control database.
 */
export const TENANT_BINDING_CHANGED_CHANNEL = "verdict_tenant_binding_changed";

export interface BoundTenantRow {
  id: string;
  slug: string;
  binding: string;
}

export interface TenantRegistryRow {
  id: string;
  slug: string;
  name: string;
  binding: string | null;
  /** `tenant move` is copying the tenant: its requests are refused (503 with Retry-After) until the switch. */
  moving: boolean;
}

/** Runs on the first request of each tenant (then cached), through the driver's prepared statements. */
const BINDING_OF = "SELECT id, slug, name, database_binding AS binding, moving_since IS NOT NULL AS moving FROM tenants WHERE id = $1::uuid";

/**
 * The tenant registry's bindings (on the control database) and the identity row of a dedicated database
 * (on the tenant's own database): every statement on `tenants.database_binding` and `tenant_database_identity`.
 */
export class TenantDatabaseStore {
  constructor(private readonly database: Database) {}

  // ---- the registry, on the control database ----

  async registryRow(tenantId: string): Promise<TenantRegistryRow | null> {
    const [row] = await this.database.query<TenantRegistryRow>(BINDING_OF, [tenantId]);
    return row ?? null;
  }

  boundTenants(): Promise<BoundTenantRow[]> {
    return this.database.query<BoundTenantRow>(
      "SELECT id, slug, database_binding AS binding FROM tenants WHERE database_binding IS NOT NULL ORDER BY slug",
      [],
    );
  }

  /**
   * Sets or clears the binding (and ends a move) and announces it, in one transaction: gateways drop their
   * cached route on commit, so the switch is one step for every gateway.
   */
  async setBinding(tenantId: string, binding: string | null): Promise<void> {
    await inTransaction(this.database, async (tx) => {
      await tx.tenant.update({ where: { id: tenantId }, data: { databaseBinding: binding, movingSince: null } });
      await tx.$executeRaw`SELECT pg_notify(${TENANT_BINDING_CHANGED_CHANNEL}, ${tenantId})`;
    });
  }

  /**
   * Marks the tenant as moving (or not) and announces it like a binding change. Starting a move is refused
   * (false) when one is already under way, so two moves of one tenant cannot run at once.
   */
  async setMoving(tenantId: string, moving: boolean): Promise<boolean> {
    return inTransaction(this.database, async (tx) => {
      const changed = moving
        ? await tx.$executeRaw`UPDATE tenants SET moving_since = now() WHERE id = ${tenantId}::uuid AND moving_since IS NULL`
        : await tx.$executeRaw`UPDATE tenants SET moving_since = NULL WHERE id = ${tenantId}::uuid`;
      await tx.$executeRaw`SELECT pg_notify(${TENANT_BINDING_CHANGED_CHANNEL}, ${tenantId})`;
      return changed === 1;
    });
  }

  /** Whether the tenant has any users, keys, bases, groups or audit events here (a bind would hide them). */
  async holdsTenantData(tenantId: string): Promise<boolean> {
    const [row] = await this.database.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1::uuid)
           OR EXISTS (SELECT 1 FROM api_keys WHERE tenant_id = $1::uuid)
           OR EXISTS (SELECT 1 FROM bases WHERE tenant_id = $1::uuid)
           OR EXISTS (SELECT 1 FROM groups WHERE tenant_id = $1::uuid)
           OR EXISTS (SELECT 1 FROM audit_events WHERE tenant_id = $1::uuid) AS found`,
      [tenantId],
    );
    return row?.found ?? false;
  }

  // ---- a dedicated database ----

  /** The tenant this database belongs to; null when it was never provisioned (or is the shared database). */
  async identity(): Promise<string | null> {
    const [row] = await this.database.query<{ tenant_id: string }>("SELECT tenant_id FROM tenant_database_identity", []);
    return row?.tenant_id ?? null;
  }

  /** IDs of tenants other than this one that have a registry row here (a dedicated database holds only its own). */
  async otherTenants(tenantId: string): Promise<string[]> {
    const rows = await this.database.query<{ id: string }>("SELECT id FROM tenants WHERE id <> $1::uuid LIMIT 5", [tenantId]);
    return rows.map((r) => r.id);
  }

  /**
   * Makes this database the tenant's: its identity row and its own `tenants` row (the rows of the tenant's data
   * refer to it). Idempotent for the same tenant; the caller has checked that no other tenant owns it.
   */
  async provision(tenant: { id: string; slug: string; name: string }): Promise<void> {
    await inTransaction(this.database, async (tx) => {
      await tx.$executeRaw`INSERT INTO tenants (id, slug, name) VALUES (${tenant.id}::uuid, ${tenant.slug}, ${tenant.name}) ON CONFLICT (id) DO NOTHING`;
      await tx.$executeRaw`INSERT INTO tenant_database_identity (singleton, tenant_id) VALUES (true, ${tenant.id}::uuid) ON CONFLICT (singleton) DO NOTHING`;
    });
  }
}

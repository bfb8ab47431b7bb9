import type { Config } from "../config.js";
import type { AuditAction } from "../generated/prisma/enums.js";
import { OPERATOR } from "../identity/actor.js";
import { recordAuditEvent } from "../modules/audit/audit-recorder.js";
import { inTransaction } from "../stores/transaction.js";
import { BindingError, describeBinding, encryptBinding, parseBinding, resolveBinding } from "../database/bindings.js";
import type { Database } from "../database/database.js";
import { readMigrations } from "../database/migrator.js";
import { MIGRATIONS_DIR, migratePostgres } from "../database/open.js";
import { connectPostgres } from "../database/postgres.js";
import { TenantDatabaseStore } from "../stores/tenant-database.store.js";
import type { TenantRow } from "../stores/tenant.store.js";
import { migrateTenantDatabases, openTenantDatabase, TenantDatabaseRefused } from "../tenancy/tenant-databases.js";

/** What the tenancy commands need of the CLI's run. */
export interface TenancyRun {
  config: Config;
  env: NodeJS.ProcessEnv;
  /** The control database (DATABASE_URL or the embedded one). */
  database: Database;
  print: (human: string, data: unknown) => void;
}

/** A refusal the CLI reports with exit code 1 (its message holds no secret). */
export class TenancyCommandError extends Error {}

const expectedMigrations = async (): Promise<string[]> => (await readMigrations(MIGRATIONS_DIR)).map((m) => m.name);

/**
 * The binding text for `tenant bind`: a reference (`--env VAR`, `--file /path`), or the URL in `--encrypt-env
 * VAR` encrypted now under VERDICT_BINDING_KEY (so the URL never appears on a command line or in the row).
 */
export function bindingFromOptions(opts: Record<string, unknown>, tenantId: string, env: NodeJS.ProcessEnv): string {
  const given = (["env", "file", "encrypt-env"] as const).filter((name) => typeof opts[name] === "string");
  if (given.length !== 1) throw new TenancyCommandError("Name the database with exactly one of --env VAR, --file /path, --encrypt-env VAR");
  const [how] = given;
  const value = String(opts[how!]);
  if (how === "env") return checked(`env:${value}`);
  if (how === "file") return checked(`file:${value}`);
  const url = env[value];
  if (!url) throw new TenancyCommandError(`--encrypt-env: the environment variable ${value} is not set`);
  return encryptBinding(url, tenantId, env);
}

function checked(binding: string): string {
  parseBinding(binding);
  return binding;
}

/**
 * Binds a tenant that has no data yet to its own database: prepares the database (provisionTarget), records the
 * binding in the tenant's chain there, then switches the registry row (announced, so running gateways route the
 * tenant there at once). Refused while the tenant has data in the shared database: binding would hide it
 * (`tenant move` copies it).
 */
export async function bindTenant(run: TenancyRun, tenant: TenantRow, binding: string): Promise<void> {
  const registry = new TenantDatabaseStore(run.database);
  if (await registry.holdsTenantData(tenant.id)) {
    throw new TenancyCommandError(
      `Tenant ${tenant.slug} has users, keys, bases, groups or audit events in the shared database; binding it would hide them (use tenant move)`,
    );
  }
  const shown = describeBinding(binding);
  const { database: target, applied } = await provisionTarget(run, tenant, binding);
  try {
    await auditBindingChange(target, tenant.id, "DATABASE_BOUND", { to: shown });
  } finally {
    await target.close();
  }
  await registry.setBinding(tenant.id, binding);
  run.print(`tenant ${tenant.slug} bound to ${shown} (${applied.length} migrations applied there)`, {
    tenantId: tenant.id,
    slug: tenant.slug,
    binding: shown,
    applied,
  });
}

/**
 * Serves the tenant from the shared database again, recording it in the tenant's chain there (where it lives
 * from now on). Its dedicated database is left as it is: `tenant move --shared` brings the data along.
 */
export async function unbindTenant(run: TenancyRun, tenant: TenantRow): Promise<void> {
  const registry = new TenantDatabaseStore(run.database);
  const row = await registry.registryRow(tenant.id);
  await auditBindingChange(run.database, tenant.id, "DATABASE_UNBOUND", { from: row?.binding ? describeBinding(row.binding) : "shared" });
  await registry.setBinding(tenant.id, null);
  run.print(`tenant ${tenant.slug} unbound: served from the shared database (its dedicated database was not changed)`, {
    tenantId: tenant.id,
    slug: tenant.slug,
    binding: null,
  });
}

/** Every binding, as references only: an encrypted value is shown as `encrypted`, never decrypted. */
export async function listBindings(run: TenancyRun): Promise<void> {
  const rows = (await new TenantDatabaseStore(run.database).boundTenants()).map((r) => ({ tenantId: r.id, slug: r.slug, binding: describeBinding(r.binding) }));
  run.print(rows.length === 0 ? "no tenant is bound to a dedicated database" : rows.map((r) => `${r.slug}\t${r.tenantId}\t${r.binding}`).join("\n"), rows);
}

/** Connects to the tenant's database and reports whether a gateway would serve it (secret, server, identity, migrations). */
export async function checkTenant(run: TenancyRun, tenant: TenantRow): Promise<void> {
  const row = await new TenantDatabaseStore(run.database).registryRow(tenant.id);
  if (!row?.binding) {
    run.print(`tenant ${tenant.slug} is not bound: served from the shared database`, { tenantId: tenant.id, slug: tenant.slug, binding: null, ok: true });
    return;
  }
  const shown = describeBinding(row.binding);
  try {
    const database = await openTenantDatabase(
      { id: tenant.id, binding: row.binding },
      { env: run.env, poolSize: 1, poolWaitMs: run.config.DATABASE_POOL_WAIT_MS, expectedMigrations: await expectedMigrations() },
    );
    await database.close();
  } catch (error) {
    if (!(error instanceof TenantDatabaseRefused)) throw error;
    run.print(`tenant ${tenant.slug} (${shown}): NOT served: ${error.message} [${error.reason}: ${error.detail}]`, {
      tenantId: tenant.id,
      slug: tenant.slug,
      binding: shown,
      ok: false,
      reason: error.reason,
      detail: error.detail,
    });
    throw new TenancyCommandError(`tenant ${tenant.slug} would not be served (${error.reason})`);
  }
  run.print(`tenant ${tenant.slug} (${shown}): ok: reachable, records this tenant, migrations up to date`, {
    tenantId: tenant.id,
    slug: tenant.slug,
    binding: shown,
    ok: true,
  });
}

/**
 * `npm run migrate`: the control database (already migrated when the CLI opened it; `controlApplied` says what
 * that did), then every bound tenant database, one report line each. Fails (exit 1) if any database failed.
 */
export async function migrateAll(run: TenancyRun, controlApplied: readonly string[]): Promise<void> {
  const lines = [`control database: ${controlApplied.length === 0 ? "up to date" : `applied ${controlApplied.join(", ")}`}`];
  const reports = await migrateTenantDatabases(run.database, run.env);
  reports.sort((a, b) => a.slug.localeCompare(b.slug));
  for (const r of reports) {
    lines.push(
      `tenant ${r.slug} (${r.binding}): ${r.error ? `FAILED: ${r.error}` : r.applied.length === 0 ? "up to date" : `applied ${r.applied.join(", ")}`}`,
    );
  }
  run.print(lines.join("\n"), { control: { applied: controlApplied }, tenants: reports });
  const failed = reports.filter((r) => r.error);
  if (failed.length > 0) throw new TenancyCommandError(`${failed.length} tenant database(s) could not be migrated`);
}

/**
 * The database that holds a tenant's users and keys: its dedicated one when bound (checked like a gateway checks
 * it), else the control database. The caller closes a dedicated one (`close`).
 */
export async function tenantDatabaseFor(run: TenancyRun, tenant: TenantRow): Promise<{ database: Database; close(): Promise<void> }> {
  const row = await new TenantDatabaseStore(run.database).registryRow(tenant.id);
  if (!row?.binding) return { database: run.database, close: async () => {} };
  try {
    const database = await openTenantDatabase(
      { id: tenant.id, binding: row.binding },
      { env: run.env, poolSize: 2, poolWaitMs: run.config.DATABASE_POOL_WAIT_MS, expectedMigrations: await expectedMigrations() },
    );
    return { database, close: () => database.close() };
  } catch (error) {
    if (error instanceof TenantDatabaseRefused) throw new TenancyCommandError(`tenant ${tenant.slug}: ${error.message} [${error.reason}: ${error.detail}]`);
    if (error instanceof BindingError) throw new TenancyCommandError(error.message);
    throw error;
  }
}

/**
 * Records a binding change in the tenant's audit chain, in the database that holds the chain from now on
 * (operator actor: SYSTEM). `from` and `to` are references (`env:VAR`, `file:…`, `encrypted`, `shared`), never secrets.
 */
export async function auditBindingChange(database: Database, tenantId: string, action: AuditAction, detail: Record<string, unknown>): Promise<void> {
  await inTransaction(database, (tx) => recordAuditEvent(tx, OPERATOR, tenantId, { action, resourceKind: "TENANT", detail }));
}

/**
 * Opens a dedicated database as the target of a bind or a move: resolves the secret, migrates it, checks it
 * records no other tenant and holds no other tenant's rows, and records the tenant in it (identity row and
 * `tenants` row). The caller closes it.
 */
export async function provisionTarget(run: TenancyRun, tenant: TenantRow, binding: string): Promise<{ database: Database; applied: string[] }> {
  const url = await resolveBinding(binding, tenant.id, run.env);
  const applied = await migratePostgres(url);
  const target = connectPostgres({ url, poolSize: 2, poolWaitMs: run.config.DATABASE_POOL_WAIT_MS });
  try {
    const store = new TenantDatabaseStore(target);
    const identity = await store.identity();
    if (identity !== null && identity !== tenant.id) throw new TenancyCommandError(`That database belongs to tenant ${identity}`);
    if ((await store.otherTenants(tenant.id)).length > 0) throw new TenancyCommandError("That database holds other tenants' rows: bind an empty database");
    await store.provision(tenant);
    return { database: target, applied };
  } catch (error) {
    await target.close();
    throw error;
  }
}

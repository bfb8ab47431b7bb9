import { setTimeout as sleep } from "node:timers/promises";
import { describeBinding } from "../database/bindings.js";
import type { Database } from "../database/database.js";
import { verifyChain } from "../modules/audit/audit-verifier.js";
import { AuditStore } from "../stores/audit.store.js";
import { TenantDatabaseStore } from "../stores/tenant-database.store.js";
import { fingerprintDifferences, isEmpty, type TenantFingerprint, TenantMoveStore } from "../stores/tenant-move.store.js";
import type { TenantRow } from "../stores/tenant.store.js";
import { auditBindingChange, provisionTarget, TenancyCommandError, type TenancyRun, tenantDatabaseFor } from "./tenancy.js";

/** How long requests that started before the move was announced get to finish before the copy (ms). */
export const DEFAULT_DRAIN_MS = 3000;
/** Copies retried when a late write changed the source after it was read; then the move gives up. */
const ATTEMPTS = 3;

const shown = (binding: string | null): string => (binding ? describeBinding(binding) : "shared");

export interface MoveOptions {
  /** The binding to move to, or null for the shared database. */
  to: string | null;
  drainMs: number;
}

/**
 * `tenant move`: copies every table of the tenant's data (TENANT_TABLES) from the database serving it to
 * another (a dedicated one, or back to the shared one), then switches the binding. In order:
 * 1. the target is prepared (migrated, provisioned) and must hold none of the tenant's rows;
 * 2. the registry row is marked moving and announced (NOTIFY): every gateway refuses the tenant's requests with
 *    503 and Retry-After from then on; requests already running get `drainMs` to finish;
 * 3. the tenant's rows are read in one snapshot and inserted in one transaction on the target; the target must
 *    then show the same rows and content per table (fingerprints), and its audit chain must verify;
 * 4. the source is read again: if a late write changed it, the target's copy is removed and the copy retried;
 * 5. the move is recorded in the tenant's chain on the target (DATABASE_MOVED), and the binding switched and the
 *    moving mark cleared in one transaction on the control database with the NOTIFY that drops routing caches;
 * 6. the tenant's rows are removed from the source.
 * Any failure before 5 removes what was copied and clears the moving mark: the tenant stays where it was.
 */
export async function moveTenant(run: TenancyRun, tenant: TenantRow, options: MoveOptions): Promise<void> {
  const registry = new TenantDatabaseStore(run.database);
  const row = await registry.registryRow(tenant.id);
  if (!row) throw new TenancyCommandError(`Tenant ${tenant.slug} was not found`);
  if (row.moving)
    throw new TenancyCommandError(`Tenant ${tenant.slug} is already being moved (after a crashed move: tenant move --tenant ${tenant.slug} --cancel)`);
  if ((row.binding ?? null) === options.to) throw new TenancyCommandError(`Tenant ${tenant.slug} is already served from ${shown(options.to)}`);

  const source = await tenantDatabaseFor(run, tenant);
  let target: Database | null = null;
  let closeTarget = async (): Promise<void> => {};
  try {
    if (options.to === null) {
      target = run.database;
    } else {
      const provisioned = await provisionTarget(run, tenant, options.to);
      target = provisioned.database;
      closeTarget = () => provisioned.database.close();
    }
    const from = new TenantMoveStore(source.database);
    const to = new TenantMoveStore(target);
    if (!isEmpty(await to.fingerprint(tenant.id))) {
      throw new TenancyCommandError(`The target database already holds rows of tenant ${tenant.slug}: move to an empty one`);
    }

    if (!(await registry.setMoving(tenant.id, true))) throw new TenancyCommandError(`Tenant ${tenant.slug} is already being moved`);
    let switched = false;
    try {
      await sleep(options.drainMs);
      const copied = await copyUntilStill(from, to, tenant.id, options.drainMs);
      const chain = await verifyChain(new AuditStore(target), tenant.id);
      if (!chain.valid) throw new TenancyCommandError(`The audit chain copied to the target does not verify: ${chain.reason}`);
      const detail = { from: shown(row.binding), to: shown(options.to), rows: rowsOf(copied) };
      await auditBindingChange(target, tenant.id, "DATABASE_MOVED", detail);
      await registry.setBinding(tenant.id, options.to);
      switched = true;
      await from.remove(tenant.id);
      run.print(
        `tenant ${tenant.slug} moved from ${detail.from} to ${detail.to}; rows per table (verified on the target, audit chain of ${chain.checkedEvents} events valid): ${Object.entries(
          detail.rows,
        )
          .map(([table, rows]) => `${table} ${rows}`)
          .join(", ")}`,
        { tenantId: tenant.id, slug: tenant.slug, ...detail, auditEventsVerified: chain.checkedEvents },
      );
    } finally {
      if (!switched) {
        await to.remove(tenant.id).catch(() => {});
        await registry.setMoving(tenant.id, false);
      }
    }
  } finally {
    await closeTarget();
    await source.close();
  }
}

/** Clears the moving mark a crashed `tenant move` left behind; the tenant is served from where it was. */
export async function cancelMove(run: TenancyRun, tenant: TenantRow): Promise<void> {
  await new TenantDatabaseStore(run.database).setMoving(tenant.id, false);
  run.print(`tenant ${tenant.slug}: no longer marked as moving`, { tenantId: tenant.id, slug: tenant.slug, moving: false });
}

const rowsOf = (fingerprint: TenantFingerprint): Record<string, number> => Object.fromEntries(Object.entries(fingerprint).map(([t, f]) => [t, f.rows]));

/**
 * Copies the tenant's rows and checks the copy against the snapshot it came from; then reads the source again.
 * A write that committed after the snapshot (a request that outlived the drain) shows there: the copy is
 * removed and made again, up to ATTEMPTS times.
 */
async function copyUntilStill(from: TenantMoveStore, to: TenantMoveStore, tenantId: string, drainMs: number): Promise<TenantFingerprint> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await from.snapshot(tenantId);
    await to.insert(snapshot.tables);
    const onTarget = await to.fingerprint(tenantId);
    const wrong = fingerprintDifferences(snapshot.fingerprint, onTarget);
    if (wrong.length > 0) throw new TenancyCommandError(`The copy differs from the source in ${wrong.join(", ")}`);
    const late = fingerprintDifferences(snapshot.fingerprint, await from.fingerprint(tenantId));
    if (late.length === 0) return onTarget;
    await to.remove(tenantId);
    if (attempt >= ATTEMPTS) throw new TenancyCommandError(`The tenant's data kept changing during the move (${late.join(", ")}); nothing was moved`);
    await sleep(drainMs);
  }
}

import type { Config } from "../config.js";
import { BindingError, describeBinding, resolveBinding } from "../database/bindings.js";
import type { Database } from "../database/database.js";
import { migratePostgres } from "../database/open.js";
import { connectPostgres } from "../database/postgres.js";
import { DomainError, DomainErrorCode } from "../errors/domain-error.js";
import { AnnouncedRowCache } from "../identity/announced-row-cache.js";
import type { TokenVerifier } from "../identity/tokens.js";
import type { Logger } from "../logging.js";
import type { Evaluator } from "../modules/execution/evaluator.js";
import { TENANT_BINDING_CHANGED_CHANNEL, TenantDatabaseStore, type TenantRegistryRow } from "../stores/tenant-database.store.js";
import { startTenantGraph, type TenantGraph } from "./tenant-graph.js";

/** Why a dedicated tenant database is not served. Every reason answers SERVICE_UNAVAILABLE / 503 for that tenant alone. */
export type RefusalReason = "secret" | "unreachable" | "unprovisioned" | "mismatch" | "behind" | "capacity";

const REFUSALS: Record<RefusalReason, string> = {
  secret: "its connection secret cannot be resolved",
  unreachable: "it cannot be reached",
  unprovisioned: "it does not record which tenant it belongs to",
  mismatch: "it belongs to another tenant",
  behind: "it has migrations pending",
  capacity: "this gateway's connections to dedicated databases are all in use",
};

export class TenantDatabaseRefused extends DomainError {
  constructor(
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {
    // The detail (which variable, which migration…) is for the operator's log, never the client: it names secrets' whereabouts.
    super(DomainErrorCode.DatabaseUnavailable, `This organisation's dedicated database is unavailable: ${REFUSALS[reason]}; try again later`, {
      reason,
    });
  }
}

export interface TenantDatabaseCheck {
  tenantId: string;
  /** The identity row's tenant, when the database could be read. */
  identity: string | null;
  pending: string[];
}

/**
 * Connects to a bound tenant's database and checks it may serve the tenant: the secret resolves, the server
 * answers, the identity row names this tenant and no migration is pending. Closes it and throws
 * TenantDatabaseRefused otherwise.
 */
export async function openTenantDatabase(
  tenant: { id: string; binding: string },
  options: { env: NodeJS.ProcessEnv; poolSize: number; poolWaitMs: number; expectedMigrations: readonly string[]; onError?: (error: Error) => void },
): Promise<Database> {
  let url: string;
  try {
    url = await resolveBinding(tenant.binding, tenant.id, options.env);
  } catch (error) {
    throw new TenantDatabaseRefused("secret", error instanceof BindingError ? error.message : "the binding cannot be resolved");
  }
  const database = connectPostgres({ url, poolSize: options.poolSize, poolWaitMs: options.poolWaitMs, onError: options.onError });
  try {
    await verifyTenantDatabase(database, tenant.id, options.expectedMigrations);
    return database;
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

/** The identity and migration checks of `openTenantDatabase`, on an open database (run again periodically). */
export async function verifyTenantDatabase(database: Database, tenantId: string, expectedMigrations: readonly string[]): Promise<void> {
  let identity: string | null;
  let applied: Set<string>;
  try {
    identity = await new TenantDatabaseStore(database).identity();
    applied = new Set(await database.appliedMigrations());
  } catch (error) {
    // A database without the identity table is one this tenant's migrations never reached.
    if ((error as { code?: string }).code === "42P01") throw new TenantDatabaseRefused("behind", "the identity table does not exist");
    throw new TenantDatabaseRefused("unreachable", safeMessage(error));
  }
  if (identity === null) throw new TenantDatabaseRefused("unprovisioned", "the tenant_database_identity table is empty");
  if (identity !== tenantId.toLowerCase()) throw new TenantDatabaseRefused("mismatch", `the database records tenant ${identity}`);
  const pending = expectedMigrations.filter((name) => !applied.has(name));
  if (pending.length > 0) throw new TenantDatabaseRefused("behind", `pending: ${pending.join(", ")}`);
}

/** An error's message and code only: driver errors carry no password, but their objects hold the connection settings. */
const safeMessage = (error: unknown): string => `${(error as { code?: string }).code ?? "error"}: ${String((error as Error).message ?? error).slice(0, 200)}`;

export interface TenantDatabaseSettings {
  env: NodeJS.ProcessEnv;
  config: Pick<
    Config,
    "TENANT_DATABASE_POOL_SIZE" | "TENANT_DATABASE_MAX_CONNECTIONS" | "TENANT_DATABASE_IDLE_MS" | "TENANT_DATABASE_RECHECK_MS" | "DATABASE_POOL_WAIT_MS"
  >;
  expectedMigrations: readonly string[];
  tokens: TokenVerifier;
  evaluator: Evaluator;
  logger: Logger;
}

/** A graph in use: `release()` once the request (or subscription connection) is done with it. */
export interface TenantLease {
  graph: TenantGraph;
  release(): void;
}

interface Entry {
  tenantId: string;
  binding: string;
  graph: TenantGraph | null;
  opening: Promise<TenantGraph> | null;
  /** Requests and subscription connections using the graph: an entry in use is never closed. */
  active: number;
  lastUsed: number;
  verifiedAt: number;
  verifying: Promise<void> | null;
  /** Replaced by a new binding or closed: close once the last user releases it. */
  retired: boolean;
}

/** A failed open is remembered this long, so a tenant whose database is away costs its requests no connection attempt each. */
const FAILURE_MEMORY_MS = 1_000;

/**
 * The process-wide registry of dedicated tenant databases: for each bound tenant that has requests, one
 * `TenantGraph` over its own bounded pool, opened on first use and closed when idle.
 *
 * - Routes (tenant → binding) come from the control database's registry, cached per process and dropped on
 *   the binding's announcement (the key cache's catch-up rule), so a re-bind or unbind takes effect at once.
 * - Connections: each open database holds at most `TENANT_DATABASE_POOL_SIZE` pooled connections and one
 *   listening connection. Opening one more that would pass `TENANT_DATABASE_MAX_CONNECTIONS` first closes the
 *   least recently used graph that nobody is using; when every graph is in use the request is refused (503).
 * - Fail closed: an open that fails (secret, server, identity, migrations) refuses that tenant's requests with
 *   503 and is remembered for a second; other tenants never wait on it. An open graph's identity row and
 *   migrations are checked again every `TENANT_DATABASE_RECHECK_MS`.
 */
export class TenantDatabases {
  private readonly entries = new Map<string, Entry>();
  /** Graphs being closed: their connections still count against the cap until they are gone. */
  private readonly closing = new Set<Promise<void>>();
  private readonly failures = new Map<string, { binding: string; until: number; error: TenantDatabaseRefused }>();
  private readonly routes: AnnouncedRowCache<TenantRegistryRow>;
  private readonly registry: TenantDatabaseStore;
  private readonly sweeper: NodeJS.Timeout;
  private readonly perDatabase: number;
  private closed = false;

  constructor(
    control: Database,
    private readonly settings: TenantDatabaseSettings,
  ) {
    this.registry = new TenantDatabaseStore(control);
    this.routes = new AnnouncedRowCache(control, TENANT_BINDING_CHANGED_CHANNEL, (tenantId) => this.registry.registryRow(tenantId));
    this.perDatabase = settings.config.TENANT_DATABASE_POOL_SIZE + 1;
    const idleMs = settings.config.TENANT_DATABASE_IDLE_MS;
    this.sweeper = setInterval(() => this.closeIdle(idleMs), Math.max(500, Math.floor(idleMs / 4)));
    this.sweeper.unref();
  }

  /** The tenant's registry row (null for an unknown tenant); cached, and fresh after a binding announcement. */
  route(tenantId: string, arrivedAt?: bigint): Promise<TenantRegistryRow | null> {
    return this.routes.get(tenantId.toLowerCase(), arrivedAt);
  }

  /** `route` as this process last heard of it, without the catch-up round trip (see its caller). */
  recentRoute(tenantId: string): Promise<TenantRegistryRow | null> {
    return this.routes.recent(tenantId.toLowerCase());
  }

  /** Databases open (or opening) now, and the connections they and those still closing may hold together. */
  get usage(): { open: number; reservedConnections: number } {
    const open = this.entries.size;
    return { open, reservedConnections: (open + this.closing.size) * this.perDatabase };
  }

  /** The bound tenant's graph, opened if need be. Throws TenantDatabaseRefused (503) when it cannot be served. */
  async acquire(tenant: { id: string; binding: string }): Promise<TenantLease> {
    const tenantId = tenant.id.toLowerCase();
    const deadline = Date.now() + this.settings.config.DATABASE_POOL_WAIT_MS;
    let entry: Entry | undefined;
    for (;;) {
      if (this.closed) throw new TenantDatabaseRefused("capacity", "the gateway is shutting down");
      entry = this.entries.get(tenantId);
      if (entry && entry.binding !== tenant.binding) {
        this.retire(entry);
        entry = undefined;
      }
      if (entry) break;
      const failure = this.failures.get(tenantId);
      if (failure && failure.binding === tenant.binding && failure.until > Date.now()) throw failure.error;
      if ((this.usage.open + this.closing.size + 1) * this.perDatabase <= this.settings.config.TENANT_DATABASE_MAX_CONNECTIONS) {
        entry = {
          tenantId,
          binding: tenant.binding,
          graph: null,
          opening: null,
          active: 0,
          lastUsed: Date.now(),
          verifiedAt: Date.now(),
          verifying: null,
          retired: false,
        };
        this.entries.set(tenantId, entry);
        break;
      }
      await this.makeRoom(tenantId, deadline);
    }
    const leased = entry;
    leased.active += 1;
    leased.lastUsed = Date.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      leased.active -= 1;
      leased.lastUsed = Date.now();
      if (leased.active === 0) {
        if (leased.retired) void this.closeEntry(leased);
        this.wakeWaiters();
      }
    };
    try {
      const graph = leased.graph ?? (await (leased.opening ??= this.open(leased)));
      await this.recheck(leased, graph);
      return { graph, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  private readonly roomWaiters = new Set<() => void>();

  private wakeWaiters(): void {
    for (const wake of this.roomWaiters) wake();
    this.roomWaiters.clear();
  }

  /**
   * One step towards room for one more database under the cap: closes the least recently used graph nobody is
   * using (and waits until its connections are gone), else waits for a graph to be released or a close to finish.
   * Refuses (503) once DATABASE_POOL_WAIT_MS has passed.
   */
  private async makeRoom(forTenant: string, deadline: number): Promise<void> {
    const idle = [...this.entries.values()].filter((e) => e.active === 0 && e.graph && !e.retired).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (idle) {
      await this.retire(idle);
      return;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const cap = this.settings.config.TENANT_DATABASE_MAX_CONNECTIONS;
      throw new TenantDatabaseRefused("capacity", `tenant ${forTenant}: ${this.usage.open} databases open and in use (cap ${cap} connections)`);
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.roomWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, remaining);
      this.roomWaiters.add(wake);
    });
  }

  private async open(entry: Entry): Promise<TenantGraph> {
    const { config, env, expectedMigrations, logger } = this.settings;
    try {
      const database = await openTenantDatabase(
        { id: entry.tenantId, binding: entry.binding },
        {
          env,
          poolSize: config.TENANT_DATABASE_POOL_SIZE,
          poolWaitMs: config.DATABASE_POOL_WAIT_MS,
          expectedMigrations,
          onError: (error) => logger.warn({ tenantId: entry.tenantId, err: { code: (error as { code?: string }).code } }, "tenant database connection error"),
        },
      );
      let graph: TenantGraph;
      try {
        graph = await startTenantGraph(database, this.settings.tokens, this.settings.evaluator);
      } catch (error) {
        await database.close().catch(() => {});
        throw new TenantDatabaseRefused("unreachable", safeMessage(error));
      }
      entry.graph = graph;
      entry.verifiedAt = Date.now();
      logger.info({ tenantId: entry.tenantId, binding: describeBinding(entry.binding) }, "tenant database opened");
      if (entry.retired || this.closed) void this.closeEntry(entry);
      return graph;
    } catch (error) {
      const refused = error instanceof TenantDatabaseRefused ? error : new TenantDatabaseRefused("unreachable", safeMessage(error));
      logger.warn(
        { tenantId: entry.tenantId, binding: describeBinding(entry.binding), reason: refused.reason, detail: refused.detail },
        "tenant database refused",
      );
      this.failures.set(entry.tenantId, { binding: entry.binding, until: Date.now() + FAILURE_MEMORY_MS, error: refused });
      if (this.entries.get(entry.tenantId) === entry) this.entries.delete(entry.tenantId);
      this.wakeWaiters();
      throw refused;
    } finally {
      entry.opening = null;
    }
  }

  /** Every RECHECK_MS, one request of the tenant waits for its identity and migrations to be read again. */
  private async recheck(entry: Entry, graph: TenantGraph): Promise<void> {
    if (Date.now() - entry.verifiedAt < this.settings.config.TENANT_DATABASE_RECHECK_MS && !entry.verifying) return;
    entry.verifying ??= verifyTenantDatabase(graph.database, entry.tenantId, this.settings.expectedMigrations)
      .then(() => {
        entry.verifiedAt = Date.now();
      })
      .finally(() => {
        entry.verifying = null;
      });
    try {
      await entry.verifying;
    } catch (error) {
      // Unreachable is an outage the pool recovers from; another tenant's identity or a database behind closes the graph.
      if (error instanceof TenantDatabaseRefused && error.reason !== "unreachable") {
        this.settings.logger.warn({ tenantId: entry.tenantId, reason: error.reason, detail: error.detail }, "tenant database refused");
        this.retire(entry);
      }
      throw error;
    }
  }

  /** Takes the entry out of service; its graph closes now if unused, else when its last user releases it. */
  private retire(entry: Entry): Promise<void> {
    entry.retired = true;
    if (this.entries.get(entry.tenantId) === entry) this.entries.delete(entry.tenantId);
    return entry.active === 0 ? this.closeEntry(entry) : Promise.resolve();
  }

  private closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const entry of this.entries.values()) if (entry.active === 0 && entry.graph && now - entry.lastUsed >= idleMs) void this.retire(entry);
    for (const [tenantId, failure] of this.failures) if (failure.until <= now) this.failures.delete(tenantId);
  }

  private closeEntry(entry: Entry): Promise<void> {
    const graph = entry.graph;
    if (!graph) return Promise.resolve();
    entry.graph = null;
    const closing = graph
      .close()
      .catch((error: unknown) =>
        this.settings.logger.warn({ tenantId: entry.tenantId, err: { message: safeMessage(error) } }, "closing a tenant database failed"),
      )
      .finally(() => {
        this.closing.delete(closing);
        this.wakeWaiters();
      });
    this.closing.add(closing);
    return closing;
  }

  /** Closes every graph (after the transports have drained). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map((e) => e.opening));
    await Promise.allSettled(entries.map((e) => this.closeEntry(e)));
    await Promise.allSettled([...this.closing]);
  }
}

/** What migrating one bound tenant database did. */
export interface TenantMigrationReport {
  tenantId: string;
  slug: string;
  binding: string;
  applied: string[];
  error: string | null;
}

/**
 * Applies the migrations to every bound tenant's database (a few at a time), with the migrator and checks the
 * shared database gets. A database that fails is reported and left behind; the gateway then refuses its tenant.
 */
export async function migrateTenantDatabases(
  control: Database,
  env: NodeJS.ProcessEnv,
  onReport: (report: TenantMigrationReport) => void = () => {},
  concurrency = 4,
): Promise<TenantMigrationReport[]> {
  const tenants = await new TenantDatabaseStore(control).boundTenants();
  const reports: TenantMigrationReport[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tenants.length) {
      const tenant = tenants[next++]!;
      const report: TenantMigrationReport = { tenantId: tenant.id, slug: tenant.slug, binding: describeBinding(tenant.binding), applied: [], error: null };
      try {
        const url = await resolveBinding(tenant.binding, tenant.id, env);
        report.applied = await migratePostgres(url);
      } catch (error) {
        report.error = error instanceof BindingError ? error.message : safeMessage(error);
      }
      reports.push(report);
      onReport(report);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tenants.length) }, worker));
  return reports;
}

import { isDeepStrictEqual } from "node:util";
import { LRUCache } from "lru-cache";
import { caughtUp, type Database } from "../../database/database.js";
import { RESOURCE_CHANGED_CHANNEL } from "../../stores/base.store.js";
import { DISAGREEMENTS_KEPT, type ShadowStore, type ShadowTally } from "../../stores/shadow.store.js";
import type { ExecutionService } from "../execution/execution.service.js";
import type { ObservedRun, RunObserver } from "../execution/run-observer.js";
import type { RunnableCache, RunnableLookup } from "../execution/runnable-cache.js";
import { redact } from "./redact.js";
import { plainData } from "../execution/large-data.js";

/** Runs waiting for their shadow evaluation in one process; beyond this, runs are dropped (and counted). */
export const MAX_QUEUED_SHADOW_RUNS = 2_000;
/** How long a process keeps its counts before adding them to the database. */
const FLUSH_INTERVAL_MS = 1_000;
const WARN_INTERVAL_MS = 10_000;
/** Runs gather this long before a batch of shadow work starts. */
const GATHER_MS = 20;
/** Shadow work gives the event loop back this often, so requests waiting meanwhile are served first. */
const TURN_NS = 1_000_000n;

interface ShadowSetting {
  tenantId: string;
  recordId: string;
}

export interface ShadowRunnerOptions {
  maxQueued?: number;
  flushIntervalMs?: number;
  warn?: (message: string, error: unknown) => void;
}

/**
 * Shadow runs (src/modules/replay/README.md): every run of a base that names a shadow record also evaluates that record on the
 * same input at the same evaluation time, after the live answer was sent. A run only joins a bounded queue
 * (`observe` returns at once; a full queue drops the run and counts it); 20 ms after the first queued run, the
 * queue is worked off on the event loop in slices of about a millisecond, each batch started by one catch-up
 * with the change announcements (shared with the runnable cache's lookups), so a replaced or removed shadow is never evaluated once its change has committed. At most one
 * shadow evaluation runs in the worker pool at a time, so shadows never fill a tenant's share of the pool.
 *
 * Counts and the latest disagreements are kept per base and added to the database once a second (one statement
 * for every base, `ShadowStore.addTallies`), so they are totals over all processes. A base without a shadow
 * costs a run one cache lookup; its "none" is learnt on its first run in the process and forgotten on its
 * change announcement (setShadow announces one), so a shadow set in another process is picked up from the first
 * run after the announcement arrives.
 */
export class ShadowRunner implements RunObserver {
  private readonly settings = new LRUCache<string, { value: ShadowSetting | null }>({ max: 10_000 });
  private readonly loading = new Map<string, Promise<void>>();
  private queue: ObservedRun[] = [];
  private scheduled = false;
  private working: Promise<void> | null = null;
  private tallies = new Map<string, ShadowTally>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly maxQueued: number;
  private readonly flushIntervalMs: number;
  private readonly warn: (message: string, error: unknown) => void;
  /** Runs this process could not compare because its queue was full or the database was away (all bases). */
  droppedRuns = 0;
  private lastWarnedAt = 0;

  constructor(
    private readonly database: Database,
    private readonly store: ShadowStore,
    private readonly runnables: RunnableCache,
    private readonly execution: ExecutionService,
    private readonly redactionOf: (baseId: string) => Promise<readonly string[] | null>,
    options: ShadowRunnerOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? MAX_QUEUED_SHADOW_RUNS;
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.warn = options.warn ?? ((message, error) => console.warn(message, error));
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.database.listen(RESOURCE_CHANGED_CHANNEL, (baseId) => {
      if (baseId === "*") this.settings.clear();
      else this.settings.delete(baseId);
    });
  }

  /** Stops listening, evaluates what is queued and writes the counts. */
  async stop(): Promise<void> {
    await this.unsubscribe?.();
    await this.flush();
  }

  observe(run: ObservedRun): void {
    const cached = this.settings.get(run.baseId);
    if (cached && cached.value === null) return;
    if (this.queue.length >= this.maxQueued) {
      this.droppedRuns++;
      if (cached?.value) this.tallyOf(run.baseId, cached.value.recordId).dropped++;
      return;
    }
    this.queue.push(run);
    if (!this.scheduled && !this.working) {
      this.scheduled = true;
      // Later than the current turn (the run's answer is written before any shadow work starts), and a little
      // later still, so that under load one batch (one catch-up round trip) serves many runs.
      setTimeout(() => {
        this.scheduled = false;
        this.work();
      }, GATHER_MS).unref();
    }
  }

  /** Evaluates everything queued so far and writes every count (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.working || this.queue.length > 0) await (this.working ?? this.work());
    await this.flushing;
    await this.writeTallies();
  }

  private work(): Promise<void> {
    this.working ??= this.drain()
      .catch((error) => this.warn("shadow runs failed", error))
      .finally(() => {
        this.working = null;
      });
    return this.working;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      // One catch-up per batch: a shadow replaced or removed before these runs is not evaluated for them.
      const freshness = caughtUp(this.database);
      const fresh = await freshness;
      // One lookup per tenant and batch, sharing that catch-up: one round trip per batch, not per run.
      const lookups = new Map<string, RunnableLookup>();
      let turn = process.hrtime.bigint();
      for (const run of batch) {
        if (process.hrtime.bigint() - turn > TURN_NS) {
          await new Promise((resolve) => setImmediate(resolve));
          turn = process.hrtime.bigint();
        }
        let lookup = lookups.get(run.tenantId);
        if (!lookup) lookups.set(run.tenantId, (lookup = this.runnables.forOneOperation(run.tenantId, freshness)));
        try {
          await this.shadow(run, fresh, lookup);
        } catch (error) {
          // The database is away (settings or record unreadable): the run is not compared, the others still are.
          this.droppedRuns++;
          this.warnSometimes("a shadow run failed", error);
        }
      }
    }
  }

  /**
   * The tally is looked up only where a count is added, with no wait in between: `writeTallies` hands the
   * current tallies to the store and starts new ones, so a tally held across an evaluation (which can outlast
   * the flush interval on a busy machine) would take a count that is never written.
   */
  private async shadow(run: ObservedRun, fresh: boolean, lookup: RunnableLookup): Promise<void> {
    const setting = await this.settingOf(run.baseId, fresh);
    if (!setting || setting.tenantId !== run.tenantId) return;
    const runnable = await lookup.byRecord(setting.recordId);
    // A draft named as shadow is gone once published: its runs are counted as dropped until the shadow is set again.
    if (!runnable || runnable.baseId !== run.baseId || runnable.tenantId !== run.tenantId) {
      this.tallyOf(run.baseId, setting.recordId).dropped++;
      return;
    }
    let shadow: { result: unknown; error: string | null };
    try {
      shadow = await this.execution.evaluateQuietly(run.actor, runnable, run.data, run.now);
    } catch {
      this.tallyOf(run.baseId, setting.recordId).dropped++; // the worker pool refused (the tenant's queue is full): the live runs come first
      return;
    }
    const agreed = shadow.error === null && run.error === null && isDeepStrictEqual(shadow.result, run.result);
    // Inputs are kept only where an admin opted the base into recording, redacted with its paths.
    const paths = agreed ? null : await this.redactionOf(run.baseId);
    const tally = this.tallyOf(run.baseId, setting.recordId);
    tally.lastRunAt = new Date();
    if (agreed) {
      tally.agreed++;
    } else {
      if (shadow.error !== null) tally.errors++;
      else tally.disagreed++;
      tally.noted++;
      tally.kept.push({
        liveRecordId: run.recordId,
        shadowRecordId: runnable.recordId,
        liveResult: run.result,
        liveError: run.error,
        shadowResult: shadow.result,
        shadowError: shadow.error,
        data: paths === null ? null : redact(plainData(run.data), paths),
        occurredAt: tally.lastRunAt,
      });
      if (tally.kept.length > DISAGREEMENTS_KEPT) tally.kept.shift();
    }
  }

  /** At most one warning per WARN_INTERVAL_MS: an outage would otherwise log once per run. */
  private warnSometimes(message: string, error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarnedAt < WARN_INTERVAL_MS) return;
    this.lastWarnedAt = now;
    this.warn(message, error);
  }

  private async settingOf(baseId: string, fresh: boolean): Promise<ShadowSetting | null> {
    const cached = fresh ? this.settings.get(baseId) : undefined;
    if (cached) return cached.value;
    let loading = this.loading.get(baseId);
    if (!loading) {
      loading = this.store
        .shadowOf(baseId)
        .then((row) => void this.settings.set(baseId, { value: row ? { tenantId: row.tenantId, recordId: row.recordId } : null }))
        .finally(() => this.loading.delete(baseId));
      this.loading.set(baseId, loading);
    }
    await loading;
    return this.settings.get(baseId)?.value ?? null;
  }

  private tallyOf(baseId: string, shadowRecordId: string): ShadowTally {
    let tally = this.tallies.get(baseId);
    if (!tally || tally.shadowRecordId !== shadowRecordId) {
      // The shadow was replaced: what was counted for the old one is discarded (the store would discard it too).
      tally = { baseId, shadowRecordId, agreed: 0, disagreed: 0, errors: 0, dropped: 0, lastRunAt: null, noted: 0, kept: [] };
      this.tallies.set(baseId, tally);
    }
    this.scheduleFlush();
    return tally;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.writeTallies();
    }, this.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Adds what this process counted to the database; best effort, like recording (a failure is logged). */
  private writeTallies(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.writeTallies());
    if (this.tallies.size === 0) return Promise.resolve();
    const tallies = [...this.tallies.values()];
    this.tallies = new Map();
    this.flushing = this.store
      .addTallies(tallies)
      .catch((error) => this.warnSometimes(`could not write the shadow counts of ${tallies.length} bases`, error))
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }
}

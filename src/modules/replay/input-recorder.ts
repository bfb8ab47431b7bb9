import { LRUCache } from "lru-cache";
import type { Database } from "../../database/database.js";
import { RESOURCE_CHANGED_CHANNEL } from "../../stores/base.store.js";
import type { BaseRecording, InputToRecord, RecordingStore } from "../../stores/recording.store.js";
import type { ObservedRun, RunObserver } from "../execution/run-observer.js";
import { redact } from "./redact.js";
import { LargeData, plainData } from "../execution/large-data.js";

/** A process trims a base's chunks beyond its maximum after appending this share of it since its last trim… */
const PRUNE_SHARE = 0.1;
/** …or after this long, if it appended anything meanwhile. */
const PRUNE_INTERVAL_MS = 60_000;
const MAX_BATCH = 1_000;
/**
 * Inputs wait this long for others before they are written (unless a full batch is waiting): nobody waits for a
 * recorded input, and a few large INSERTs cost Postgres far less per row than one per turn of the event loop.
 */
const WRITE_DELAY_MS = 100;
/** Inputs waiting to be written in one process, at most; beyond, inputs are dropped (and counted) rather than queued. */
const MAX_PENDING = 20_000;
/** The sweep of expired inputs runs once per this interval across all processes (whichever claims it first). */
export const SWEEP_INTERVAL_S = 600;
/** How often each process checks whether the sweep is due (one cheap statement). */
const SWEEP_CHECK_MS = 60_000;
/** Rows deleted per statement by the sweep, so it never holds many locks or a long transaction. */
const SWEEP_CHUNK = 5_000;

/**
 * Records the inputs of runs of bases that opted in, off the response path: a run only queues its input
 * (redacted at once, so nothing unredacted outlives the call; a large body's data is recorded as its text, or parsed
 * here when paths are to be redacted: recordedJson); the queue is written in one statement per
 * WRITE_DELAY_MS or per full batch, a sibling of the execution-event batcher that, since no answer waits for
 * it, gathers longer (while one batch is written the next one grows), each base's inputs of a batch as one row
 * (a chunk: RecordingStore.append), so Postgres's work per recorded run is a share of a row. At most MAX_PENDING
 * inputs wait. Trimming is rare and deletes whole chunks: a process trims a base after appending a tenth of its
 * maximum, or a minute after its last trim, so a base may hold up to a tenth more per process, plus the rest of
 * its oldest chunk, for a while; reads stop at the maximum. Expired inputs
 * are deleted by a sweep that one process claims every SWEEP_INTERVAL_S (every process checks once a minute),
 * so they go even when the base records nothing any more; reads hide them meanwhile. Settings are cached per
 * process and dropped on the same change announcements as the runnable cache (configuring recording announces
 * one). Recording is best effort: a failed write is logged, never surfaced to the run it came from.
 */
export class InputRecorder implements RunObserver {
  private readonly settings = new LRUCache<string, { value: BaseRecording | null }>({ max: 10_000 });
  private readonly loading = new Map<string, Promise<void>>();
  /**
   * Per base: when this process last trimmed it, how many inputs it appended since, and the cutoffs its last two
   * trims answered. A trim looks only above the older cutoff: below it everything went two trims ago, except
   * (in theory) a batch another process committed more than a whole trim interval late, which expires instead.
   */
  private readonly sincePrune = new LRUCache<string, { at: number; appended: number; cutoffs: [string, string] }>({ max: 10_000 });
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private pending: InputToRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Inputs not recorded because too many were waiting (the database is slow or away). */
  droppedInputs = 0;
  private flushing: Promise<void> | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly store: RecordingStore,
    private readonly warn: (message: string, error: unknown) => void = (message, error) => console.warn(message, error),
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.database.listen(RESOURCE_CHANGED_CHANNEL, (baseId) => {
      if (baseId === "*") this.settings.clear();
      else this.settings.delete(baseId);
    });
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweepExpired()
        .catch((error) => this.warn("could not sweep expired recorded inputs", error))
        .finally(() => (this.sweeping = null));
    }, SWEEP_CHECK_MS);
    this.sweepTimer.unref();
  }

  /** Stops listening and sweeping, and writes what is queued. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping;
    await this.unsubscribe?.();
    await this.flush();
  }

  /**
   * Deletes every base's expired inputs if no process did within `intervalSeconds`; returns how many went, or
   * null when another process's sweep is recent enough.
   */
  async sweepExpired(intervalSeconds = SWEEP_INTERVAL_S): Promise<number | null> {
    if (!(await this.store.claimSweep("recorded_inputs:expired", intervalSeconds))) return null;
    let deleted = 0;
    for (;;) {
      const count = await this.store.deleteExpired(SWEEP_CHUNK);
      deleted += count;
      if (count < SWEEP_CHUNK) return deleted;
    }
  }

  /** Batches are not recorded: one call's thousand inputs would crowd out every other run's. */
  observe(run: ObservedRun): void {
    if (run.batch) return;
    const cached = this.settings.get(run.baseId);
    if (cached === undefined) {
      // First run of a base in this process: learn its settings, record this input once known.
      void this.load(run.baseId).then(() => this.observeKnown(run));
      return;
    }
    this.observeKnown(run);
  }

  /** Resolves once everything queued so far is written (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.loading.values()]);
    await new Promise((resolve) => setImmediate(resolve)); // the loads' continuations queue their inputs
    while (this.flushing || this.pending.length > 0) {
      await (this.flushing ?? this.write());
    }
  }

  /** The base's recording settings, from this process's cache (kept fresh by change announcements). */
  async recordingOf(baseId: string): Promise<BaseRecording | null> {
    if (!this.settings.has(baseId)) await this.load(baseId);
    return this.settings.get(baseId)?.value ?? null;
  }

  private observeKnown(run: ObservedRun): void {
    const settings = this.settings.get(run.baseId)?.value;
    if (!settings?.enabled || settings.tenantId !== run.tenantId) return;
    if (this.pending.length >= MAX_PENDING) {
      this.droppedInputs++;
      return;
    }
    // Serialised at once: a string waits for the batch instead of the run's whole parsed object graph, which
    // would otherwise survive the young generation's collections and be copied by them.
    const json = recordedJson(run.data, settings.redactPaths);
    this.pending.push({ tenantId: run.tenantId, baseId: run.baseId, recordId: run.recordId, json });
    this.schedule();
  }

  /** A full batch goes at once; otherwise the first waiting input starts WRITE_DELAY_MS of gathering. */
  private schedule(): void {
    if (this.flushing) return; // the batch being written schedules the next one when it ends
    if (this.pending.length >= MAX_BATCH) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.write();
      return;
    }
    if (this.timer || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.flushing) void this.write();
    }, WRITE_DELAY_MS);
    this.timer.unref(); // stop() writes what is left
  }

  private load(baseId: string): Promise<void> {
    let loading = this.loading.get(baseId);
    if (!loading) {
      loading = this.store
        .settingsOf(baseId)
        .then((value) => void this.settings.set(baseId, { value }))
        .catch((error) => this.warn(`could not read the recording settings of base ${baseId}`, error))
        .finally(() => this.loading.delete(baseId));
      this.loading.set(baseId, loading);
    }
    return loading;
  }

  private write(): Promise<void> {
    const batch = this.pending.splice(0, MAX_BATCH);
    if (batch.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        await this.store.append(batch);
        await this.prune(batch);
      } catch (error) {
        this.warn(`could not record ${batch.length} run inputs`, error);
      } finally {
        this.flushing = null;
        this.schedule();
      }
    })();
    return this.flushing;
  }

  private async prune(batch: readonly InputToRecord[]): Promise<void> {
    const now = Date.now();
    for (const input of batch) {
      const since = this.sincePrune.get(input.baseId);
      if (since) since.appended++;
      else this.sincePrune.set(input.baseId, { at: now, appended: 1, cutoffs: ["0", "0"] });
    }
    for (const baseId of new Set(batch.map((input) => input.baseId))) {
      const settings = this.settings.get(baseId)?.value;
      const since = this.sincePrune.get(baseId)!;
      if (!settings || (since.appended < settings.maxInputs * PRUNE_SHARE && now - since.at < PRUNE_INTERVAL_MS)) continue;
      const [older, newer] = since.cutoffs;
      const cutoff = await this.store.prune(baseId, settings.maxInputs, older);
      this.sincePrune.set(baseId, { at: now, appended: 0, cutoffs: cutoff === null ? [older, newer] : [newer, cutoff] });
    }
  }
}

/**
 * An input as recorded: a large body's data as the text it was echoed as when nothing is to be redacted (decoded, not
 * parsed: src/modules/execution/large-data.ts), else the redacted value serialised (a large body's parsed here).
 */
function recordedJson(data: unknown, redactPaths: readonly string[]): string {
  if (data instanceof LargeData && redactPaths.length === 0) return data.text();
  return JSON.stringify(redact(plainData(data), redactPaths)) ?? "null";
}

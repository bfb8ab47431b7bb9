import { LRUCache } from "lru-cache";
import type { Database } from "../../database/database.js";
import { RESOURCE_CHANGED_CHANNEL } from "../../stores/base.store.js";
import type { BaseRecording, InputToRecord, RecordingStore } from "../../stores/recording.store.js";
import type { RunObserver } from "../execution/run-observer.js";
import { redact } from "./redact.js";

/** How often one process trims a base's inputs to its retention and its maximum count. */
const PRUNE_INTERVAL_MS = 10_000;
const MAX_BATCH = 1_000;

/**
 * Records the inputs of runs of bases that opted in, off the response path: a run only queues its input
 * (redacted at once, so nothing unredacted outlives the call); the queue is written in one statement per
 * turn of the event loop, like the execution-event batcher, and each base is trimmed at most every 10 s per
 * process, so a base may briefly hold a few more than its maximum. Settings are cached per process and
 * dropped on the same change announcements as the runnable cache (configuring recording announces one).
 * Recording is best effort: a failed write is logged, never surfaced to the run it came from.
 */
export class InputRecorder implements RunObserver {
  private readonly settings = new LRUCache<string, { value: BaseRecording | null }>({ max: 10_000 });
  private readonly loading = new Map<string, Promise<void>>();
  private readonly lastPruned = new Map<string, number>();
  private pending: InputToRecord[] = [];
  private scheduled = false;
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
  }

  /** Stops listening and writes what is queued. */
  async stop(): Promise<void> {
    await this.unsubscribe?.();
    await this.flush();
  }

  observe(run: { tenantId: string; baseId: string; recordId: string; data: unknown }): void {
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

  private observeKnown(run: { tenantId: string; baseId: string; recordId: string; data: unknown }): void {
    const settings = this.settings.get(run.baseId)?.value;
    if (!settings?.enabled || settings.tenantId !== run.tenantId) return;
    this.pending.push({ tenantId: run.tenantId, baseId: run.baseId, recordId: run.recordId, data: redact(run.data, settings.redactPaths) });
    if (!this.scheduled && !this.flushing) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (!this.flushing) void this.write();
      });
    }
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
        await this.prune(new Set(batch.map((input) => input.baseId)));
      } catch (error) {
        this.warn(`could not record ${batch.length} run inputs`, error);
      } finally {
        this.flushing = null;
        if (this.pending.length > 0) void this.write();
      }
    })();
    return this.flushing;
  }

  private async prune(baseIds: Set<string>): Promise<void> {
    const now = Date.now();
    for (const baseId of baseIds) {
      const settings = this.settings.get(baseId)?.value;
      if (!settings || now - (this.lastPruned.get(baseId) ?? 0) < PRUNE_INTERVAL_MS) continue;
      this.lastPruned.set(baseId, now);
      await this.store.prune(baseId, settings.retentionDays, settings.maxInputs);
    }
  }
}

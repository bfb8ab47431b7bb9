import type { Database } from "../../database/database.js";
import type { TenantActor } from "../../identity/actor.js";
import { type CapturedContext, telemetry } from "../../telemetry/tracing.js";
import {
  appendAfterHead,
  appendCheckedAuditEvents,
  auditEventProblem,
  type AttributedAuditEvent,
  type AuditEventInput,
  type ChainHead,
  readChainHead,
} from "./audit-recorder.js";

export interface ExecutionAuditOptions {
  /** Most events written in one statement. */
  maxBatchSize?: number;
}

interface Pending {
  actor: TenantActor;
  event: AuditEventInput;
  /** The recording run's trace context, when tracing is on: the batch's span is parented or linked to it. */
  trace: CapturedContext | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface TenantQueue {
  pending: Pending[];
  /** The batch being written, if any: a tenant's appends serialise on its chain head anyway. */
  flushing: Promise<void> | null;
  scheduled: boolean;
}

/**
 * After a lost race, how long a tenant's batches queue on the head's row lock instead of trying
 * compare-and-swap: another process is appending to the same chain (WORKERS > 1, or several gateways).
 */
const CONTENDED_MS = 2_000;
/** Tenants whose chain head (or contention) one process remembers; beyond this the memory starts afresh. */
const MAX_TENANTS_REMEMBERED = 10_000;

export class ExecutionAuditClosedError extends Error {
  override name = "ExecutionAuditClosedError";
  constructor() {
    super("The execution audit recorder is closed");
  }
}

/**
 * Records execution events (one per stored-resource run) without making the audit log the throughput limit.
 *
 * Group commit per tenant: the first event waits only for the next turn of the event loop, then its batch is
 * written in one statement (a transaction of its own). While it runs, later events queue up and go together
 * in the next one, so under load a batch grows with the write latency instead of each run paying for its own
 * write and its own wait on the tenant's chain-head lock. `record` resolves only once its event is committed; if a
 * batch fails, every caller in it gets the error, so no event is lost silently.
 */
export class ExecutionAuditBatcher {
  private readonly tenants = new Map<string, TenantQueue>();
  /** Tenants whose chain another writer appended to lately, with when to try compare-and-swap again. */
  private readonly contended = new Map<string, number>();
  /**
   * Where this process's last append left each tenant's chain; unknown after an error or a lost race. Kept
   * beyond the tenant's queue (which goes whenever it drains), so that the first batch after a quiet moment
   * does not wait for a head read first: usually no other writer moved the head meanwhile.
   */
  private readonly heads = new Map<string, ChainHead>();
  private readonly maxBatchSize: number;
  private closed = false;
  private transactionCount = 0;
  private eventCount = 0;
  private lostRaceCount = 0;

  constructor(
    private readonly database: Database,
    options: ExecutionAuditOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 500;
  }

  /**
   * Resolves when the event is durably committed to the tenant's audit chain. Traced, the wait is the run's
   * `verdict.audit.record` span; the batch that writes the event is a child of the first of its events' spans
   * and links the others (see `flush`).
   */
  record(actor: TenantActor, tenantId: string, event: AuditEventInput): Promise<void> {
    const tracing = telemetry.tracing;
    if (!tracing) return this.enqueue(actor, tenantId, event, undefined);
    return tracing.inSpan("verdict.audit.record", { "verdict.audit.action": event.action }, () => this.enqueue(actor, tenantId, event, tracing.capture()));
  }

  private enqueue(actor: TenantActor, tenantId: string, event: AuditEventInput, trace: CapturedContext | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new ExecutionAuditClosedError());
    const problem = auditEventProblem(event);
    if (problem) return Promise.reject(new Error(`Audit event refused: ${problem}`));
    return new Promise<void>((resolve, reject) => {
      let queue = this.tenants.get(tenantId);
      if (!queue) this.tenants.set(tenantId, (queue = { pending: [], flushing: null, scheduled: false }));
      queue.pending.push({ actor, event, trace, resolve, reject });
      this.schedule(tenantId, queue);
    });
  }

  /** Batches (each one statement, its own transaction), events written and heads found moved, so far (for tests and metrics). */
  get stats(): { transactions: number; events: number; lostRaces: number } {
    return { transactions: this.transactionCount, events: this.eventCount, lostRaces: this.lostRaceCount };
  }

  /** Refuses new events and resolves once everything already recorded is committed (or has failed). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.tenants.size > 0) {
      await Promise.allSettled([...this.tenants.entries()].map(([tenantId, queue]) => queue.flushing ?? this.flush(tenantId, queue)));
    }
  }

  private schedule(tenantId: string, queue: TenantQueue): void {
    if (queue.flushing || queue.scheduled) return; // the running batch picks the new events up when it ends
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      if (!queue.flushing) void this.flush(tenantId, queue);
    });
  }

  private flush(tenantId: string, queue: TenantQueue): Promise<void> {
    const batch = queue.pending.splice(0, this.maxBatchSize);
    if (batch.length === 0) {
      if (!queue.flushing && this.tenants.get(tenantId) === queue) this.tenants.delete(tenantId);
      return Promise.resolve();
    }
    const write = async (): Promise<void> => {
      try {
        this.transactionCount += 1;
        // Each event was checked by `record`, so one malformed event never fails a batch.
        await this.traced(tenantId, batch, () => this.append(tenantId, batch));
        this.eventCount += batch.length;
        for (const entry of batch) entry.resolve();
      } catch (error) {
        this.heads.delete(tenantId); // the batch may or may not have committed
        for (const entry of batch) entry.reject(error);
      }
    };
    const flushing = write().then(() => {
      queue.flushing = null;
      // Whatever arrived while this batch was written goes next, straight away: it has waited long enough.
      if (queue.pending.length > 0) void this.flush(tenantId, queue);
      else if (this.tenants.get(tenantId) === queue) this.tenants.delete(tenantId);
    });
    queue.flushing = flushing;
    return flushing;
  }

  /**
   * One batch serves many runs, usually of different requests (and traces): its span is the child of the first
   * run's `verdict.audit.record` span — so that trace shows the statement — and links every other run's, so
   * each of those traces leads to the write its answer waited for.
   */
  private traced(tenantId: string, batch: readonly Pending[], write: () => Promise<void>): Promise<void> {
    const tracing = telemetry.tracing;
    const first = batch[0]?.trace;
    if (!tracing || !first) return write();
    const others = batch.slice(1).flatMap((entry) => (entry.trace ? [entry.trace] : []));
    return tracing.inSpanOf("verdict.audit.write", first, others, { "verdict.audit.batch_size": batch.length, "verdict.tenant.id": tenantId }, write);
  }

  /**
   * One statement, atomic on its own (no interactive transaction), appending after the head this process
   * last left. When another writer (another process, or the transaction of a change) moved the head
   * meanwhile, the batch is appended under the head's row lock instead (numbered and chained in SQL), which
   * cannot lose, and so are the tenant's batches for the next CONTENDED_MS. Retrying compare-and-swap would
   * not do: with two busy processes on one tenant each one's append moves the head the other holds, so
   * nearly every attempt lost, paying a head read and a rebuilt batch each time. The one exception is a head
   * remembered from before a quiet moment: an audited change made meanwhile moved it once, so the batch tries
   * once more after the head as it is now before counting the tenant as contended.
   */
  private async append(tenantId: string, batch: readonly AttributedAuditEvent[]): Promise<void> {
    const contendedUntil = this.contended.get(tenantId);
    if (contendedUntil !== undefined && contendedUntil <= Date.now()) this.contended.delete(tenantId);
    if (!this.contended.has(tenantId)) {
      const remembered = this.heads.get(tenantId);
      let next = await appendAfterHead(this.database, tenantId, remembered ?? (await readChainHead(this.database, tenantId)), batch);
      if (!next && remembered) {
        this.lostRaceCount += 1;
        next = await appendAfterHead(this.database, tenantId, await readChainHead(this.database, tenantId), batch);
      }
      if (next) {
        if (!remembered && this.heads.size >= MAX_TENANTS_REMEMBERED) this.heads.clear();
        this.heads.set(tenantId, next);
        return;
      }
      this.lostRaceCount += 1;
      this.heads.delete(tenantId);
      if (this.contended.size >= MAX_TENANTS_REMEMBERED) this.contended.clear();
      this.contended.set(tenantId, Date.now() + CONTENDED_MS);
    }
    await appendCheckedAuditEvents(this.database, tenantId, batch);
  }
}

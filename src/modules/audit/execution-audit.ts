import type { Database, StatementLane } from "../../database/database.js";
import type { TenantActor } from "../../identity/actor.js";
import { type CapturedContext, telemetry } from "../../telemetry/tracing.js";
import type { StatementRunner } from "../../stores/audit.store.js";
import {
  appendAfterHead,
  appendChained,
  appendCheckedAuditEvents,
  auditEventProblem,
  type AttributedAuditEvent,
  type AuditEventInput,
  type ChainedBatch,
  type ChainHead,
  chainAfterHead,
  readChainHead,
} from "./audit-recorder.js";

export interface ExecutionAuditOptions {
  /** Most events written in one statement. */
  maxBatchSize?: number;
  /**
   * Most batches of one tenant in flight at once (1: each batch waits for the one before it). Only where the
   * database has lanes (Postgres); the embedded database runs one statement at a time anyway.
   */
  pipelineDepth?: number;
  /**
   * Fewest events a batch goes with while another of its tenant's is in flight; fewer wait for one to finish.
   * Default (null): as many as the tenant's last batch held, so pipelining never makes batches smaller.
   */
  pipelineMinEvents?: number | null;
}

interface Pending {
  actor: TenantActor;
  event: AuditEventInput;
  /** The recording run's trace context, when tracing is on: the batch's span is parented or linked to it. */
  trace: CapturedContext | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** How a batch ended: committed, with the head it left when that is known (compare-and-swap), or failed. */
type Landed = { committed: true; head: ChainHead | null } | { committed: false };

interface TenantQueue {
  pending: Pending[];
  /** Batches sent and not finished yet (a retry included). */
  inFlight: Set<Promise<Landed>>;
  /** The batch sent last: a pipelined batch that has to retry waits for it, so the chain keeps their order. */
  last: Promise<Landed> | null;
  /** The lane the batches in flight were sent on, in chain order; null when they went through the pool. */
  lane: StatementLane | null;
  /** Events in the batch sent last. */
  lastSize: number;
  scheduled: boolean;
  /**
   * A batch in flight failed, or found the head elsewhere: the batches sent after it will too, and retry one
   * after another. Nothing more is sent until they have all finished.
   */
  broken: boolean;
}

/**
 * After a lost race, how long a tenant's batches queue on the head's row lock instead of trying
 * compare-and-swap: another process is appending to the same chain (WORKERS > 1, or several gateways).
 */
const CONTENDED_MS = 2_000;
/** Tenants whose chain head (or contention) one process remembers; beyond this the memory starts afresh. */
const MAX_TENANTS_REMEMBERED = 10_000;
/** Batches of one tenant in flight at once, by default (bench:run, see the README). */
const PIPELINE_DEPTH = 4;

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
 * in a later one, so under load a batch grows with the write latency instead of each run paying for its own
 * write and its own wait on the tenant's chain-head lock. `record` resolves only once its event is committed; if a
 * batch fails, every caller in it gets the error, so no event is lost silently.
 *
 * Pipelined: a tenant's batches do not wait for one another in the gateway. The batcher numbers and hashes a
 * batch after the head the batch before it will leave, and sends it at once (up to `pipelineDepth` in flight)
 * on the same lane (`Database.lanes`, a connection in pipeline mode): Postgres runs it right after its
 * predecessor commits, instead of after a round trip through a busy event loop. One batch at a time left the
 * gateway's loop half idle and bounded a tenant's runs by its batches' latency. Not on separate pooled
 * connections: there the next batch's compare-and-swap can reach Postgres first, or test the head its
 * snapshot sees before the batch ahead commits, and fail without waiting. If a batch fails, those behind it
 * find the head elsewhere, append nothing, and retry in order once the batch before each has finished
 * (after its new head, or after the head read again): their callers are resolved only by their own commit,
 * and the compare-and-swap (and the unique (tenant, sequence) index behind it) never lets a second chain form.
 */
export class ExecutionAuditBatcher {
  private readonly tenants = new Map<string, TenantQueue>();
  /** Tenants whose chain another writer appended to lately, with when to try compare-and-swap again. */
  private readonly contended = new Map<string, number>();
  /**
   * Where each tenant's chain will end once this process's batches in flight are committed (where its last
   * append left it when none is); unknown after an error or a lost race. Kept beyond the tenant's queue (which
   * goes whenever it drains), so that the first batch after a quiet moment does not wait for a head read
   * first: usually no other writer moved the head meanwhile.
   */
  private readonly heads = new Map<string, ChainHead>();
  private readonly maxBatchSize: number;
  /** Read whenever a batch could be sent (benchmarks change them to compare settings in one run). */
  pipelineDepth: number;
  pipelineMinEvents: number | null;
  private closed = false;
  private transactionCount = 0;
  private eventCount = 0;
  private lostRaceCount = 0;
  private pipelineRetryCount = 0;
  private pipelinedCount = 0;

  constructor(
    private readonly database: Database,
    options: ExecutionAuditOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.pipelineDepth = options.pipelineDepth ?? PIPELINE_DEPTH;
    this.pipelineMinEvents = options.pipelineMinEvents === undefined ? null : options.pipelineMinEvents;
  }

  /**
   * Resolves when the event is durably committed to the tenant's audit chain. Traced, the wait is the run's
   * `verdict.audit.record` span; the batch that writes the event is a child of the first of its events' spans
   * and links the others (see `traced`).
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
      if (!queue)
        this.tenants.set(tenantId, (queue = { pending: [], inFlight: new Set(), last: null, lane: null, lastSize: 0, scheduled: false, broken: false }));
      queue.pending.push({ actor, event, trace, resolve, reject });
      this.schedule(tenantId, queue);
    });
  }

  /**
   * Batches (each one statement, its own transaction), events written, heads found moved by another writer,
   * batches sent while another of their tenant's was in flight, and of those the ones that found the head
   * elsewhere and went again, so far (for tests and metrics).
   */
  get stats(): { transactions: number; events: number; lostRaces: number; pipelined: number; pipelineRetries: number } {
    return {
      transactions: this.transactionCount,
      events: this.eventCount,
      lostRaces: this.lostRaceCount,
      pipelined: this.pipelinedCount,
      pipelineRetries: this.pipelineRetryCount,
    };
  }

  /** Refuses new events and resolves once everything already recorded is committed (or has failed). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.tenants.size > 0) {
      await Promise.allSettled(
        [...this.tenants.entries()].flatMap(([tenantId, queue]) => {
          this.flush(tenantId, queue);
          return [...queue.inFlight];
        }),
      );
    }
  }

  private schedule(tenantId: string, queue: TenantQueue): void {
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      this.flush(tenantId, queue);
    });
  }

  private isContended(tenantId: string): boolean {
    const until = this.contended.get(tenantId);
    if (until !== undefined && until <= Date.now()) this.contended.delete(tenantId);
    return this.contended.has(tenantId);
  }

  /**
   * Whether a batch may go now. A tenant's first batch always may. Another one goes while others are in flight
   * only behind batches on a lane, after the head they will leave; not while a failure is being sorted out
   * (`broken`), nor while the tenant is contended (its batches wait for another process's under the head's
   * lock, which would hold up the other tenants on the lane), and within the depth.
   *
   * And only once it is as large as the last batch (`pipelineMinEvents`): each statement costs Postgres and
   * the gateway CPU of its own (Postgres about as much as six events), and sending whatever one turn of the
   * event loop brought made batches of two or three that cost more CPU than their waiting saved once the
   * machine was short of it (bench:run, paired rounds at load 5–8). Events that arrive faster than the batches
   * ahead commit reach that size and go at once, so Postgres has the next batch waiting when one commits;
   * fewer wait for a batch to finish, as before pipelining, and go right then, before its runs are answered.
   */
  private canSend(tenantId: string, queue: TenantQueue): boolean {
    if (queue.inFlight.size === 0) return true;
    if (queue.broken || !queue.lane || queue.inFlight.size >= this.pipelineDepth) return false;
    if (queue.pending.length < (this.pipelineMinEvents ?? Math.min(queue.lastSize, this.maxBatchSize))) return false;
    return !this.isContended(tenantId) && this.heads.has(tenantId);
  }

  /** The lane with the fewest statements in flight; null without lanes. */
  private quietestLane(): StatementLane | null {
    let quietest: StatementLane | null = null;
    for (const lane of this.database.lanes) if (!quietest || lane.inFlight < quietest.inFlight) quietest = lane;
    return quietest;
  }

  private flush(tenantId: string, queue: TenantQueue): void {
    while (queue.pending.length > 0 && this.canSend(tenantId, queue)) this.send(tenantId, queue, queue.pending.splice(0, this.maxBatchSize));
    if (queue.pending.length === 0 && queue.inFlight.size === 0 && this.tenants.get(tenantId) === queue) this.tenants.delete(tenantId);
  }

  private send(tenantId: string, queue: TenantQueue, batch: Pending[]): void {
    const previous = queue.inFlight.size > 0 ? queue.last : null;
    if (previous) this.pipelinedCount += 1;
    queue.lastSize = batch.length;
    // Chained now, synchronously, after the head the batches in flight will leave: the next batch follows this one.
    const expected = this.isContended(tenantId) ? undefined : this.heads.get(tenantId);
    let chained: { batch: ChainedBatch; on: StatementRunner } | undefined;
    if (expected) {
      if (queue.inFlight.size === 0) queue.lane = this.quietestLane();
      chained = { batch: chainAfterHead(tenantId, expected, batch), on: queue.lane ?? this.database };
      this.heads.set(tenantId, chained.batch.next);
    }
    this.transactionCount += 1;
    // Each event was checked by `record`, so one malformed event never fails a batch.
    const done: Promise<Landed> = this.traced(tenantId, batch, () => this.write(tenantId, queue, batch, chained, previous)).then(
      (head) => {
        // The next batch goes first, then the callers answer: their responses are written while it is in flight.
        this.finish(tenantId, queue, done);
        this.eventCount += batch.length;
        for (const entry of batch) entry.resolve();
        return { committed: true, head };
      },
      (error: unknown) => {
        // It may or may not have committed; the batches behind it find out and retry (see `write`).
        this.heads.delete(tenantId);
        queue.broken = true;
        this.finish(tenantId, queue, done);
        for (const entry of batch) entry.reject(error);
        return { committed: false };
      },
    );
    queue.inFlight.add(done);
    queue.last = done;
  }

  private finish(tenantId: string, queue: TenantQueue, done: Promise<Landed>): void {
    queue.inFlight.delete(done);
    if (queue.inFlight.size === 0) {
      queue.broken = false;
      queue.lane = null;
    }
    // Whatever arrived meanwhile goes next, straight away: it has waited long enough.
    this.flush(tenantId, queue);
  }

  /**
   * Writes one batch; the head it left when known. A batch chained after the head the batches before it will
   * leave is appended by compare-and-swap at once, on its tenant's lane. If it finds the head elsewhere — the
   * batch before it failed, or another writer moved the head — it waits for the batch before it to finish
   * and goes again through the pool, after the head that one left (or the head as read now).
   */
  private async write(
    tenantId: string,
    queue: TenantQueue,
    batch: readonly AttributedAuditEvent[],
    chained: { batch: ChainedBatch; on: StatementRunner } | undefined,
    previous: Promise<Landed> | null,
  ): Promise<ChainHead | null> {
    if (!chained) return this.append(tenantId, batch, undefined);
    if (await appendChained(chained.on, tenantId, chained.batch)) return chained.batch.next;
    queue.broken = true;
    this.heads.delete(tenantId);
    if (!previous) {
      this.lostRaceCount += 1; // nothing of ours was in flight: another writer moved the head
      return this.append(tenantId, batch, undefined);
    }
    this.pipelineRetryCount += 1;
    const before = await previous;
    return this.append(tenantId, batch, before.committed ? (before.head ?? undefined) : undefined);
  }

  /**
   * One batch serves many runs, usually of different requests (and traces): its span is the child of the first
   * run's `verdict.audit.record` span — so that trace shows the statement — and links every other run's, so
   * each of those traces leads to the write its answer waited for.
   */
  private traced<T>(tenantId: string, batch: readonly Pending[], write: () => Promise<T>): Promise<T> {
    const tracing = telemetry.tracing;
    const first = batch[0]?.trace;
    if (!tracing || !first) return write();
    const others = batch.slice(1).flatMap((entry) => (entry.trace ? [entry.trace] : []));
    return tracing.inSpanOf("verdict.audit.write", first, others, { "verdict.audit.batch_size": batch.length, "verdict.tenant.id": tenantId }, write);
  }

  /**
   * One statement, atomic on its own (no interactive transaction), appending after `remembered` (or the head
   * read now). When another writer (another process, or the transaction of a change) moved the head
   * meanwhile, the batch is appended under the head's row lock instead (numbered and chained in SQL), which
   * cannot lose, and so are the tenant's batches for the next CONTENDED_MS. Retrying compare-and-swap would
   * not do: with two busy processes on one tenant each one's append moves the head the other holds, so
   * nearly every attempt lost, paying a head read and a rebuilt batch each time. The one exception is a head
   * remembered from before a quiet moment: an audited change made meanwhile moved it once, so the batch tries
   * once more after the head as it is now before counting the tenant as contended. The head it left, or null
   * when appended under the lock.
   */
  private async append(tenantId: string, batch: readonly AttributedAuditEvent[], remembered: ChainHead | undefined): Promise<ChainHead | null> {
    if (!this.isContended(tenantId)) {
      let next = await appendAfterHead(this.database, tenantId, remembered ?? (await readChainHead(this.database, tenantId)), batch);
      if (!next && remembered) {
        this.lostRaceCount += 1;
        next = await appendAfterHead(this.database, tenantId, await readChainHead(this.database, tenantId), batch);
      }
      if (next) {
        if (!this.heads.has(tenantId) && this.heads.size >= MAX_TENANTS_REMEMBERED) this.heads.clear();
        this.heads.set(tenantId, next);
        return next;
      }
      this.lostRaceCount += 1;
      this.heads.delete(tenantId);
      if (this.contended.size >= MAX_TENANTS_REMEMBERED) this.contended.clear();
      this.contended.set(tenantId, Date.now() + CONTENDED_MS);
    }
    await appendCheckedAuditEvents(this.database, tenantId, batch);
    return null;
  }
}

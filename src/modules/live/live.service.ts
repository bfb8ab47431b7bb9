import { Action } from "../../authorization/actions.js";
import { mayPerform, requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import type { ApprovalAction, AuditAction, AuditResourceKind, ChangeRequestState } from "../../generated/prisma/enums.js";
import type { TenantActor } from "../../identity/actor.js";
import { type AuditEvent as AuditEventRow, auditEventsAfter, lastAuditSequence } from "../../stores/audit.store.js";
import type { AuditEvent } from "../audit/audit.types.js";
import type { LifecycleService } from "../resources/lifecycle.service.js";
import { BoundedStream } from "./bounded-stream.js";
import type { BaseChange, ChangeRequestChange } from "./live.types.js";

/** The audit trigger (migrations 20261205000000, 20261205070000 and 20261205170000) announces a tenant's new events here, runs excepted. */
export const AUDIT_APPENDED_CHANNEL = "verdict_audit_appended";

/** Events that may take access away from a subscriber: role changes and key revocations. */
const ACCESS_ACTIONS: AuditAction[] = ["ASSIGNED", "KEY_REVOKED"];
/** The events change-request subscribers read, whatever their base. */
const CHANGE_REQUEST_KINDS: AuditResourceKind[] = ["CHANGE_REQUEST"];
/** How many events one read of a tenant's log fetches; a busy log is read in several rounds. */
const READ_BATCH = 200;
/** Events that may wait for one subscriber before its subscription is ended (see BoundedStream). */
export const SUBSCRIPTION_BUFFER = 256;
const RETRY_MS = 1_000;
/**
 * Runs' EXECUTED events are not announced (one NOTIFY per audit batch serialised every tenant's run commits:
 * migration 20261205070000), so a feed with an auditEvents subscriber also reads its log this often. Events
 * still arrive in sequence order: any announced event reads the runs before it too.
 */
export const UNANNOUNCED_EVENTS_POLL_MS = 1_000;

/** What one subscriber follows: every event (auditEvents), one base's changes, or change requests (of one base or all). */
type Interest = { kind: "audit" } | { kind: "base"; baseId: string } | { kind: "changeRequests"; baseId: string | null };

interface Subscriber {
  actor: TenantActor;
  /** Only events after this sequence: the log's end when the subscription began. */
  from: bigint;
  interest: Interest;
  stream: BoundedStream<AuditEventRow>;
}

/** One tenant's log as this process follows it: where it has read up to, and who listens. */
interface TenantFeed {
  tenantId: string;
  last: bigint;
  subscribers: Set<Subscriber>;
  reading: Promise<void> | null;
  readAgain: boolean;
  /** Reads the log on a timer while an auditEvents subscriber listens (runs are not announced). */
  poll: NodeJS.Timeout | null;
}

/**
 * Live updates from the audit log, which every change writes in its own transaction. Each process follows
 * only the tenants its subscribers belong to: on an announcement it reads that tenant's events after the last
 * one it read (one query per process, however many subscribers), and hands each subscriber those it may see.
 * Since the position is a sequence number, nothing is lost when announcements are: after the listening
 * connection comes back ("*") every feed simply reads again.
 */
export class LiveService {
  private readonly feeds = new Map<string, TenantFeed>();
  private readonly accessListeners = new Set<(tenantId: string) => void>();
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly lifecycle: LifecycleService,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.database.listen(AUDIT_APPENDED_CHANNEL, (tenantId) => {
      if (tenantId === "*") for (const feed of this.feeds.values()) this.schedule(feed);
      else {
        const feed = this.feeds.get(tenantId);
        if (feed) this.schedule(feed);
      }
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    for (const feed of this.feeds.values()) {
      if (feed.poll) clearInterval(feed.poll);
      for (const subscriber of feed.subscribers) void subscriber.stream.return();
    }
  }

  /** Open subscriptions in this process (for tests and metrics). */
  subscriberCount(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.subscribers.size;
    return count;
  }

  /** Called with a tenant whose roles or keys changed, so connections of that tenant can be checked again. */
  onAccessChanged(listener: (tenantId: string) => void): () => void {
    this.accessListeners.add(listener);
    return () => this.accessListeners.delete(listener);
  }

  /** Changes to one base (edited, published, drafted, deleted, restored…) from now on; the base must be readable. */
  async baseChanged(actor: TenantActor, baseId: string): Promise<AsyncIterable<BaseChange>> {
    const base = await this.lifecycle.getBase(requireAction(actor, Action.ReadResources), baseId);
    const stream = await this.open(actor, { kind: "base", baseId: base.id });
    return map(stream, toBaseChange);
  }

  /** Every new event of the caller's tenant: admins and auditors. */
  async auditEvents(actor: TenantActor): Promise<AsyncIterable<AuditEvent>> {
    const stream = await this.open(requireAction(actor, Action.ReadAudit), { kind: "audit" });
    return map(stream, toAuditEvent);
  }

  /**
   * Change requests' state changes from now on (requested, approved, rejected, withdrawn, expired, stale,
   * applied), of one base or of the whole tenant: anyone who may read change requests (and, given a base, read it).
   */
  async changeRequestChanged(actor: TenantActor, baseId: string | null): Promise<AsyncIterable<ChangeRequestChange>> {
    requireAction(actor, Action.ReadResources);
    const base = baseId == null ? null : await this.lifecycle.getBase(actor, baseId);
    const stream = await this.open(actor, { kind: "changeRequests", baseId: base?.id ?? null });
    return map(stream, toChangeRequestChange);
  }

  private async open(actor: TenantActor, interest: Interest): Promise<BoundedStream<AuditEventRow>> {
    const from = await lastAuditSequence(this.database, actor.tenantId);
    let feed = this.feeds.get(actor.tenantId);
    if (!feed) {
      feed = { tenantId: actor.tenantId, last: from, subscribers: new Set(), reading: null, readAgain: false, poll: null };
      this.feeds.set(actor.tenantId, feed);
    }
    const tenantFeed = feed;
    const subscriber: Subscriber = {
      actor,
      from,
      interest,
      stream: new BoundedStream<AuditEventRow>(SUBSCRIPTION_BUFFER, () => {
        tenantFeed.subscribers.delete(subscriber);
        this.pollWhileAuditSubscribers(tenantFeed);
        if (tenantFeed.subscribers.size === 0 && this.feeds.get(tenantFeed.tenantId) === tenantFeed) this.feeds.delete(tenantFeed.tenantId);
      }),
    };
    feed.subscribers.add(subscriber);
    this.pollWhileAuditSubscribers(feed);
    // Events committed between reading the log's end and now were announced before this feed existed.
    if (feed.last < from) feed.last = from;
    this.schedule(feed);
    return subscriber.stream;
  }

  private pollWhileAuditSubscribers(feed: TenantFeed): void {
    const wanted = [...feed.subscribers].some((s) => s.interest.kind === "audit");
    if (wanted && !feed.poll) feed.poll = setInterval(() => this.schedule(feed), UNANNOUNCED_EVENTS_POLL_MS).unref();
    if (!wanted && feed.poll) {
      clearInterval(feed.poll);
      feed.poll = null;
    }
  }

  /** One read of a tenant's log at a time; an announcement during a read makes it read once more. */
  private schedule(feed: TenantFeed): void {
    if (feed.reading) {
      feed.readAgain = true;
      return;
    }
    feed.reading = (async () => {
      do {
        feed.readAgain = false;
        await this.read(feed);
      } while (feed.readAgain && feed.subscribers.size > 0);
    })()
      .catch((error: unknown) => {
        this.onError(error);
        setTimeout(() => this.schedule(feed), RETRY_MS).unref();
      })
      .finally(() => {
        feed.reading = null;
      });
  }

  private async read(feed: TenantFeed): Promise<void> {
    for (;;) {
      if (feed.subscribers.size === 0) return;
      const interests = [...feed.subscribers].map((s) => s.interest);
      const everything = interests.some((i) => i.kind === "audit");
      const baseIds = everything ? null : [...new Set(interests.flatMap((i) => (i.kind === "base" ? [i.baseId] : [])))];
      const alwaysKinds = interests.some((i) => i.kind === "changeRequests") ? CHANGE_REQUEST_KINDS : [];
      const events = await auditEventsAfter(this.database, feed.tenantId, feed.last, { baseIds, alwaysActions: ACCESS_ACTIONS, alwaysKinds }, READ_BATCH);
      for (const event of events) this.deliver(feed, event);
      if (events.length > 0) feed.last = events.at(-1)!.sequence;
      if (events.some((e) => ACCESS_ACTIONS.includes(e.action))) for (const listener of this.accessListeners) listener(feed.tenantId);
      if (events.length < READ_BATCH) return;
    }
  }

  private deliver(feed: TenantFeed, event: AuditEventRow): void {
    for (const subscriber of feed.subscribers) {
      if (event.sequence <= subscriber.from) continue;
      if (wants(subscriber, event)) subscriber.stream.push(event);
    }
  }
}

/** Whether the subscriber may and wants to see the event; access is checked on every event (roles change). */
function wants({ interest, actor }: Subscriber, event: AuditEventRow): boolean {
  switch (interest.kind) {
    case "audit":
      return mayPerform(actor, Action.ReadAudit);
    case "base":
      return event.baseId === interest.baseId && event.action !== "EXECUTED" && mayPerform(actor, Action.ReadResources);
    case "changeRequests":
      return (
        event.resourceKind === "CHANGE_REQUEST" && (interest.baseId === null || event.baseId === interest.baseId) && mayPerform(actor, Action.ReadResources)
      );
  }
}

const toChangeRequestChange = (row: AuditEventRow): ChangeRequestChange => {
  const detail = (row.detail ?? {}) as { changeRequestId?: string; changeAction?: ApprovalAction; state?: ChangeRequestState };
  return {
    changeRequestId: detail.changeRequestId!,
    action: detail.changeAction!,
    state: detail.state!,
    change: row.action,
    baseId: row.baseId,
    actorType: row.actorType,
    actorId: row.actorId,
    occurredAt: row.occurredAt,
  };
};

const toAuditEvent = (row: AuditEventRow): AuditEvent => ({
  ...row,
  sequence: row.sequence.toString(),
  detail: (row.detail ?? {}) as Record<string, unknown>,
});

const toBaseChange = (row: AuditEventRow): BaseChange => ({
  baseId: row.baseId!,
  change: row.action,
  recordId: row.recordId,
  version: row.version,
  occurredAt: row.occurredAt,
});

/** Maps a stream's values, passing `return` through so that ending the subscription unregisters it. */
function map<T, U>(source: AsyncIterableIterator<T>, fn: (value: T) => U): AsyncIterableIterator<U> {
  return {
    async next() {
      const result = await source.next();
      return result.done ? { value: undefined, done: true } : { value: fn(result.value), done: false };
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

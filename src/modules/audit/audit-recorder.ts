import { randomUUID } from "node:crypto";
import type { AuditAction, AuditResourceKind } from "../../generated/prisma/enums.js";
import { type Actor, auditActorOf } from "../../identity/actor.js";
import type { Database } from "../../database/database.js";
import * as store from "../../stores/audit.store.js";
import type { ChainHead, StatementRunner } from "../../stores/audit.store.js";
import type { Transaction } from "../../stores/transaction.js";
import { canonicalAroundSequence, type ChainedFields, chainLink, GENESIS_HASH, isFlatDetail } from "./audit-chain.js";

export type { ChainHead };

export interface AuditEventInput {
  action: AuditAction;
  resourceKind: AuditResourceKind;
  baseId?: string | null;
  recordId?: string | null;
  version?: number | null;
  groupId?: string | null;
  detail?: Record<string, unknown>;
}

/** One event together with who caused it. */
export interface AttributedAuditEvent {
  actor: Actor;
  event: AuditEventInput;
}

/**
 * The detail as it will read back from the JSONB column: dates become strings, `undefined` members vanish.
 * Hashing exactly this form keeps the stored row verifiable.
 */
const storedForm = (detail: Record<string, unknown> | undefined): Record<string, unknown> =>
  detail === undefined ? {} : isFlatDetail(detail) ? detail : (JSON.parse(JSON.stringify(detail)) as Record<string, unknown>);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** NUL, or a surrogate without its pair: what JSON.stringify writes as the escapes UNSTORABLE_ESCAPE finds. */
const unstorable = (text: string): boolean => text.includes("\u0000") || LONE_SURROGATE.test(text);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * JSONB refuses NUL and unpaired surrogates in text. JSON.stringify writes exactly those as `\u0000` and
 * `\ud800`–`\udfff` escapes (paired surrogates stay raw), so they show as such an escape after an even run of
 * backslashes (an odd run would make the backslash itself escaped text).
 */
const UNSTORABLE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/;

/**
 * Why the database would refuse this event, or null when it would store it. Batching writers check each event
 * first, so one malformed event fails only its own caller and never the batch it would have joined.
 */
export function auditEventProblem(event: AuditEventInput): string | null {
  for (const field of ["baseId", "recordId", "groupId"] as const) {
    const value = event[field];
    if (value != null && !UUID.test(value)) return `${field} is not a UUID`;
  }
  if (event.version != null && !(Number.isInteger(event.version) && event.version >= -(2 ** 31) && event.version < 2 ** 31)) {
    return "version is not a 32-bit integer";
  }
  if (isFlatDetail(event.detail)) {
    // Every execution event: its keys and strings are checked as they are, without serialising the detail.
    for (const key in event.detail) {
      const value = event.detail[key];
      if (unstorable(key) || (typeof value === "string" && unstorable(value))) {
        return "detail contains a NUL character or an unpaired surrogate";
      }
    }
    return null;
  }
  try {
    // JSON.stringify throws on cycles and BigInt.
    if (UNSTORABLE_ESCAPE.test(JSON.stringify(event.detail ?? {}))) return "detail contains a NUL character or an unpaired surrogate";
  } catch (error) {
    return `detail is not JSON: ${(error as Error).message}`;
  }
  return null;
}

/**
 * Appends events, each with its own actor, to the tenant's hash chain. Inside a caller's transaction the
 * change and its events commit or roll back together; given the database itself, the append is one atomic
 * statement of its own.
 *
 * One statement locks the tenant's chain head (`SELECT … FOR UPDATE`, held until the transaction ends, so
 * concurrent writers of one tenant — in any number of processes — queue there and form one unbroken chain),
 * numbers the events after it, chains their hashes in SQL, inserts them and moves the head. The hash is the
 * one `chainHash` computes: the canonical JSON is prepared here around the sequence number, which only the
 * locked head decides (see canonicalAroundSequence).
 */
async function recordAttributedAuditEvents(sql: StatementRunner, tenantId: string, entries: readonly AttributedAuditEvent[]): Promise<void> {
  for (const { event } of entries) {
    const problem = auditEventProblem(event);
    if (problem) throw new Error(`Audit event refused: ${problem}`);
  }
  await appendCheckedAuditEvents(sql, tenantId, entries);
}

/** recordAttributedAuditEvents for events already found storable by auditEventProblem. */
export async function appendCheckedAuditEvents(sql: StatementRunner, tenantId: string, entries: readonly AttributedAuditEvent[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = storedEvents(tenantId, entries).map((fields) => ({
    ...fields,
    occurredAt: fields.occurredAt.toISOString(),
    ...canonicalAroundSequence(fields),
  }));
  await store.appendChainedInSql(sql, tenantId, GENESIS_HASH, rows);
}

/** The events as their rows will read back, all stamped with the present millisecond (the column's precision). */
function storedEvents(tenantId: string, entries: readonly AttributedAuditEvent[]): Omit<ChainedFields, "sequence">[] {
  const occurredAt = new Date(Date.now());
  return entries.map(({ actor, event }) => {
    const { actorType, actorId } = auditActorOf(actor);
    return {
      tenantId,
      occurredAt,
      actorType,
      actorId,
      action: event.action,
      resourceKind: event.resourceKind,
      baseId: event.baseId ?? null,
      recordId: event.recordId ?? null,
      version: event.version ?? null,
      groupId: event.groupId ?? null,
      detail: storedForm(event.detail),
    };
  });
}

/** The tenant's chain head as committed now; created (at the genesis hash) for the tenant's first event. */
export const readChainHead = (database: Database, tenantId: string): Promise<ChainHead> => store.readChainHead(database, tenantId, GENESIS_HASH);

/**
 * Appends events after `head`, hashing them here, in one statement that moves the head only if it is still
 * where `head` says (compare-and-swap). Returns the new head, or null when another writer moved it first (the
 * caller reads the head again and retries). A writer that owns a tenant's appends in its process — the
 * execution-event batcher — knows the head from its own last append, so its steady state is one statement
 * per batch, and Postgres only inserts rows: no lock wait, no hashing or JSON chain-building in SQL. The
 * (tenant, sequence) primary key would refuse a second chain even if the compare-and-swap were bypassed.
 * The compare covers the hash as well as the sequence number (see APPEND_AFTER_HEAD).
 */
export async function appendAfterHead(
  database: Database,
  tenantId: string,
  head: ChainHead,
  entries: readonly AttributedAuditEvent[],
): Promise<ChainHead | null> {
  let { sequence, hash } = head;
  const events = storedEvents(tenantId, entries);
  // One timestamp for the whole batch (storedEvents), written once.
  const occurredAt = events[0]?.occurredAt.toISOString();
  let rows = "[";
  for (let i = 0; i < events.length; i++) {
    const previousHash = hash;
    sequence += 1n;
    const link = chainLink(previousHash, events[i]!, sequence, occurredAt);
    hash = link.hash;
    // The canonical text is an object with every stored member: each row is that text with its two hashes and its
    // ID added, so the statement stores exactly what was hashed, and nothing is serialised twice. The ID is drawn
    // here because the column's default (gen_random_uuid) asks the kernel for randomness once per row, a few
    // microseconds of Postgres CPU on every run; Node draws from a cache of random bytes.
    rows += `${i === 0 ? "" : ","}${link.canonical.slice(0, -1)},"previousHash":"${previousHash}","hash":"${hash}","id":"${randomUUID()}"}`;
  }
  const next = { sequence, hash };
  return (await store.appendAfterHead(database, tenantId, head, next, `${rows}]`, events.length)) ? next : null;
}

/** Appends events that all have the same actor (see recordAttributedAuditEvents). */
export function recordAuditEvents(tx: Transaction, actor: Actor, tenantId: string, events: readonly AuditEventInput[]): Promise<void> {
  return recordAttributedAuditEvents(
    store.statementsOf(tx),
    tenantId,
    events.map((event) => ({ actor, event })),
  );
}

export const recordAuditEvent = (tx: Transaction, actor: Actor, tenantId: string, event: AuditEventInput): Promise<void> =>
  recordAuditEvents(tx, actor, tenantId, [event]);

import type { AuditAction, AuditResourceKind } from "../../generated/prisma/enums.js";
import type { Prisma } from "../../generated/prisma/client.js";
import { actorOf, type Principal } from "../../identity/principal.js";
import type { Database } from "../../database/database.js";
import { canonicalAroundSequence, chainHash, type ChainedFields, GENESIS_HASH } from "./audit-chain.js";

export type Transaction = Prisma.TransactionClient;

export interface AuditEventInput {
  action: AuditAction;
  resourceKind: AuditResourceKind;
  baseId?: string | null;
  recordId?: string | null;
  version?: number | null;
  groupId?: string | null;
  detail?: Record<string, unknown>;
}

/** One event together with who caused it (null: the system itself). */
export interface AttributedAuditEvent {
  principal: Principal | null;
  event: AuditEventInput;
}

/**
 * The detail as it will read back from the JSONB column: dates become strings, `undefined` members vanish.
 * Hashing exactly this form keeps the stored row verifiable.
 */
const storedForm = (detail: Record<string, unknown> | undefined): Record<string, unknown> =>
  detail === undefined ? {} : (JSON.parse(JSON.stringify(detail)) as Record<string, unknown>);

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
  try {
    // JSON.stringify throws on cycles and BigInt.
    if (UNSTORABLE_ESCAPE.test(JSON.stringify(event.detail ?? {}))) return "detail contains a NUL character or an unpaired surrogate";
  } catch (error) {
    return `detail is not JSON: ${(error as Error).message}`;
  }
  return null;
}

/**
 * Runs one parameterised statement and says how many rows it changed: a caller's transaction (see
 * `inTransaction`), or the database itself for a statement that is atomic alone (the execution-event
 * batcher, which writes through the driver's prepared statements rather than Prisma).
 */
export interface StatementRunner {
  execute(sql: string, params: readonly unknown[]): Promise<number>;
}

const inTransaction = (tx: Transaction): StatementRunner => ({
  execute: (sql, params) => tx.$executeRawUnsafe(sql, ...params),
});

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
async function recordAttributedAuditEvents(
  sql: StatementRunner,
  tenantId: string,
  entries: readonly AttributedAuditEvent[],
): Promise<void> {
  for (const { event } of entries) {
    const problem = auditEventProblem(event);
    if (problem) throw new Error(`Audit event refused: ${problem}`);
  }
  await appendCheckedAuditEvents(sql, tenantId, entries);
}

/** recordAttributedAuditEvents for events already found storable by auditEventProblem. */
export async function appendCheckedAuditEvents(
  sql: StatementRunner,
  tenantId: string,
  entries: readonly AttributedAuditEvent[],
): Promise<void> {
  if (entries.length === 0) return;
  const rows = storedEvents(tenantId, entries).map((fields) => ({ ...fields, occurredAt: fields.occurredAt.toISOString(), ...canonicalAroundSequence(fields) }));
  const params = [tenantId, JSON.stringify(rows)];
  if ((await sql.execute(APPEND_EVENTS, params)) === 0) {
    // The tenant's first event: create its head, then append (a concurrent first writer may have won the race).
    await sql.execute(CREATE_HEAD, [tenantId, GENESIS_HASH]);
    if ((await sql.execute(APPEND_EVENTS, params)) === 0) throw new Error(`The audit chain head of tenant ${tenantId} is missing`);
  }
}

/** The events as their rows will read back, all stamped with the present millisecond (the column's precision). */
function storedEvents(tenantId: string, entries: readonly AttributedAuditEvent[]): Omit<ChainedFields, "sequence">[] {
  const occurredAt = new Date(Date.now());
  return entries.map(({ principal, event }) => {
    const actor = principal ? actorOf(principal) : { actorType: "SYSTEM" as const, actorId: null };
    return {
      tenantId,
      occurredAt,
      actorType: actor.actorType,
      actorId: actor.actorId,
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

const CREATE_HEAD = `INSERT INTO audit_chain_heads (tenant_id, last_sequence, last_hash) VALUES ($1::uuid, 0, $2)
  ON CONFLICT (tenant_id) DO NOTHING`;

/**
 * All rows in one INSERT … SELECT from one JSON parameter ($2; $1 is the tenant): one parameter instead of
 * one per value keeps the statement's text constant, so it is prepared once per connection. A data-modifying
 * CTE always runs to completion, so the events and the new head are written together. Changes no row when
 * the tenant has no head yet.
 */
const APPEND_EVENTS = `
    WITH RECURSIVE
    head AS (
      SELECT last_sequence, last_hash::text AS last_hash FROM audit_chain_heads WHERE tenant_id = $1::uuid FOR UPDATE
    ),
    events AS (
      SELECT e.position, e.value FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(value, position)
    ),
    parts AS (
      SELECT array_agg(value->>'prefix' ORDER BY position) AS prefixes, array_agg(value->>'suffix' ORDER BY position) AS suffixes
      FROM events
    ),
    chain (position, sequence, previous_hash, hash) AS (
      SELECT 0::bigint, head.last_sequence, NULL::text, head.last_hash FROM head
      UNION ALL
      SELECT c.position + 1, c.sequence + 1, c.hash,
             encode(sha256(convert_to(c.hash || p.prefixes[c.position + 1] || (c.sequence + 1)::text || p.suffixes[c.position + 1], 'UTF8')), 'hex')
      FROM chain c CROSS JOIN parts p
      WHERE c.position < cardinality(p.prefixes)
    ),
    appended AS (
      INSERT INTO audit_events (tenant_id, sequence, occurred_at, actor_type, actor_id, action, resource_kind, base_id, record_id,
                                version, group_id, detail, previous_hash, hash)
      SELECT $1::uuid, c.sequence, (e.value->>'occurredAt')::timestamptz, (e.value->>'actorType')::"ActorType",
             (e.value->>'actorId')::uuid, (e.value->>'action')::"AuditAction", (e.value->>'resourceKind')::"AuditResourceKind",
             (e.value->>'baseId')::uuid, (e.value->>'recordId')::uuid, (e.value->>'version')::int, (e.value->>'groupId')::uuid,
             e.value->'detail', c.previous_hash, c.hash
      FROM chain c JOIN events e ON e.position = c.position
      RETURNING sequence, hash
    )
    UPDATE audit_chain_heads SET last_sequence = last.sequence, last_hash = last.hash
    FROM (SELECT sequence, hash FROM appended ORDER BY sequence DESC LIMIT 1) AS last
    WHERE audit_chain_heads.tenant_id = $1::uuid`;

/** Where a tenant's chain ends: its last sequence number and hash. */
export interface ChainHead {
  sequence: bigint;
  hash: string;
}

/** The tenant's chain head as committed now; created (at the genesis hash) for the tenant's first event. */
export async function readChainHead(database: Database, tenantId: string): Promise<ChainHead> {
  for (;;) {
    const [head] = await database.query<{ last_sequence: string | bigint; last_hash: string }>(READ_HEAD, [tenantId]);
    if (head) return { sequence: BigInt(head.last_sequence), hash: head.last_hash };
    await database.execute(CREATE_HEAD, [tenantId, GENESIS_HASH]);
  }
}

/**
 * Appends events after `head`, hashing them here, in one statement that moves the head only if it is still
 * where `head` says (compare-and-swap). Returns the new head, or null when another writer moved it first (the
 * caller reads the head again and retries). A writer that owns a tenant's appends in its process — the
 * execution-event batcher — knows the head from its own last append, so its steady state is one statement
 * per batch, and Postgres only inserts rows: no lock wait, no hashing or JSON chain-building in SQL. The
 * unique (tenant, sequence) index would refuse a second chain even if the compare-and-swap were bypassed.
 * The compare covers the hash as well as the sequence number (see APPEND_AFTER_HEAD).
 */
export async function appendAfterHead(
  database: Database,
  tenantId: string,
  head: ChainHead,
  entries: readonly AttributedAuditEvent[],
): Promise<ChainHead | null> {
  let { sequence, hash } = head;
  const rows = storedEvents(tenantId, entries).map((fields) => {
    const previousHash = hash;
    sequence += 1n;
    hash = chainHash(previousHash, { ...fields, sequence });
    return {
      sequence: sequence.toString(),
      occurred_at: fields.occurredAt.toISOString(),
      actor_type: fields.actorType,
      actor_id: fields.actorId,
      action: fields.action,
      resource_kind: fields.resourceKind,
      base_id: fields.baseId,
      record_id: fields.recordId,
      version: fields.version,
      group_id: fields.groupId,
      detail: fields.detail,
      previous_hash: previousHash,
      hash,
    };
  });
  const params = [tenantId, head.sequence.toString(), head.hash, sequence.toString(), hash, JSON.stringify(rows)];
  return (await database.execute(APPEND_AFTER_HEAD, params)) === rows.length ? { sequence, hash } : null;
}

const READ_HEAD = `SELECT last_sequence, last_hash FROM audit_chain_heads WHERE tenant_id = $1::uuid`;

/**
 * The head moves only from exactly ($2, $3). The hash is compared too, although sequence numbers only grow,
 * so that a head known in some other way than from a committed append can never link to the wrong event.
 */
const APPEND_AFTER_HEAD = `
    WITH moved AS (
      UPDATE audit_chain_heads SET last_sequence = $4::bigint, last_hash = $5
      WHERE tenant_id = $1::uuid AND last_sequence = $2::bigint AND last_hash = $3
      RETURNING tenant_id
    )
    INSERT INTO audit_events (tenant_id, sequence, occurred_at, actor_type, actor_id, action, resource_kind, base_id, record_id,
                              version, group_id, detail, previous_hash, hash)
    SELECT moved.tenant_id, e.sequence, e.occurred_at, e.actor_type::"ActorType", e.actor_id, e.action::"AuditAction",
           e.resource_kind::"AuditResourceKind", e.base_id, e.record_id, e.version, e.group_id, e.detail, e.previous_hash, e.hash
    FROM moved, json_to_recordset($6::json) AS e(sequence bigint, occurred_at timestamptz, actor_type text, actor_id uuid, action text,
         resource_kind text, base_id uuid, record_id uuid, version int, group_id uuid, detail jsonb, previous_hash text, hash text)`;

/** Appends events that all have the same actor (see recordAttributedAuditEvents). */
export function recordAuditEvents(
  tx: Transaction,
  principal: Principal | null,
  tenantId: string,
  events: readonly AuditEventInput[],
): Promise<void> {
  return recordAttributedAuditEvents(
    inTransaction(tx),
    tenantId,
    events.map((event) => ({ principal, event })),
  );
}

export const recordAuditEvent = (
  tx: Transaction,
  principal: Principal | null,
  tenantId: string,
  event: AuditEventInput,
): Promise<void> => recordAuditEvents(tx, principal, tenantId, [event]);

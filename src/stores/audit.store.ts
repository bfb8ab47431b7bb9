import type { Database } from "../database/database.js";
import type { AuditChainHead, AuditEvent, Prisma } from "../generated/prisma/client.js";
import { type Connection, type Keyset, keysetPage, type PageRequest, sequenceColumn } from "../shared/keyset.js";
import type { Transaction } from "./transaction.js";

export type { AuditEvent };

/**
 * Runs one parameterised statement and says how many rows it changed: a caller's transaction (`inTransaction`),
 * or the database itself for a statement that is atomic alone (the execution-event batcher, which writes
 * through the driver's prepared statements rather than Prisma).
 */
export interface StatementRunner {
  execute(sql: string, params: readonly unknown[]): Promise<number>;
}

export const statementsOf = (tx: Transaction): StatementRunner => ({
  execute: (sql, params) => tx.$executeRawUnsafe(sql, ...params),
});

/** An event prepared for APPEND_EVENTS: its stored fields and the canonical JSON around its sequence number. */
export interface EventToChain {
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  action: string;
  resourceKind: string;
  baseId: string | null;
  recordId: string | null;
  version: number | null;
  groupId: string | null;
  detail: unknown;
  prefix: string;
  suffix: string;
}

/** Where a tenant's chain ends: its last sequence number and hash. */
export interface ChainHead {
  sequence: bigint;
  hash: string;
}

/**
 * Appends events after the tenant's locked head, numbering and chaining them in SQL (see APPEND_EVENTS).
 * Creates the tenant's head first for its first event.
 */
export async function appendChainedInSql(sql: StatementRunner, tenantId: string, genesisHash: string, rows: readonly EventToChain[]): Promise<void> {
  const params = [tenantId, JSON.stringify(rows)];
  if ((await sql.execute(APPEND_EVENTS, params)) === 0) {
    // The tenant's first event: create its head, then append (a concurrent first writer may have won the race).
    await sql.execute(CREATE_HEAD, [tenantId, genesisHash]);
    if ((await sql.execute(APPEND_EVENTS, params)) === 0) throw new Error(`The audit chain head of tenant ${tenantId} is missing`);
  }
}

/** The tenant's chain head as committed now; created (at the genesis hash) for the tenant's first event. */
export async function readChainHead(database: Database, tenantId: string, genesisHash: string): Promise<ChainHead> {
  for (;;) {
    const [head] = await database.query<{ last_sequence: string | bigint; last_hash: string }>(READ_HEAD, [tenantId]);
    if (head) return { sequence: BigInt(head.last_sequence), hash: head.last_hash };
    await database.execute(CREATE_HEAD, [tenantId, genesisHash]);
  }
}

/**
 * Inserts events numbered and hashed after `head` and moves the head to `next`, only if the head is still at
 * `head` (compare-and-swap). `rows` is a JSON array of `count` events, each its canonical text (audit-chain.ts: the
 * members of ChainedFields, `sequence` as a string) with `previousHash`, `hash` and the event's `id` added. Whether it
 * appended.
 */
export async function appendAfterHead(database: Database, tenantId: string, head: ChainHead, next: ChainHead, rows: string, count: number): Promise<boolean> {
  const params = [tenantId, head.sequence.toString(), head.hash, next.sequence.toString(), next.hash, rows];
  return (await database.execute(APPEND_AFTER_HEAD, params)) === count;
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
    INSERT INTO audit_events (id, tenant_id, sequence, occurred_at, actor_type, actor_id, action, resource_kind, base_id, record_id,
                              version, group_id, detail, previous_hash, hash)
    SELECT e.id, moved.tenant_id, e.sequence, e."occurredAt", e."actorType"::"ActorType", e."actorId", e.action::"AuditAction",
           e."resourceKind"::"AuditResourceKind", e."baseId", e."recordId", e.version, e."groupId", e.detail, e."previousHash", e.hash
    FROM moved, json_to_recordset($6::json) AS e(id uuid, sequence bigint, "occurredAt" timestamptz, "actorType" text, "actorId" uuid, action text,
         "resourceKind" text, "baseId" uuid, "recordId" uuid, version int, "groupId" uuid, detail jsonb, "previousHash" text, hash text)`;

export interface AuditEventFilter {
  actions?: AuditEvent["action"][] | null;
  baseId?: string | null;
  actorId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

const EVENT_KEYSET: Keyset<AuditEvent> = { columns: [sequenceColumn("sequence")], direction: "desc" };

/** Reading the audit log: listings and the pages the chain verifier walks. */
export class AuditStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  /** Newest first (by chain sequence); `from` inclusive, `to` exclusive. */
  events(tenantId: string, filter: AuditEventFilter, page: PageRequest): Promise<Connection<AuditEvent>> {
    const where: Prisma.AuditEventWhereInput = { tenantId };
    if (filter.actions) where.action = { in: filter.actions };
    if (filter.baseId) where.baseId = filter.baseId;
    if (filter.actorId) where.actorId = filter.actorId;
    if (filter.from || filter.to) where.occurredAt = { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) };
    return keysetPage(EVENT_KEYSET, page, where, {
      find: (args) => this.prisma.auditEvent.findMany(args),
      count: (args) => this.prisma.auditEvent.count(args),
    });
  }

  head(tenantId: string): Promise<AuditChainHead | null> {
    return this.prisma.auditChainHead.findUnique({ where: { tenantId } });
  }

  /** Up to `limit` events from `from` to `to` (inclusive), in sequence order. */
  eventsBetween(tenantId: string, from: bigint, to: bigint, limit: number): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({
      where: { tenantId, sequence: { gte: from, lte: to } },
      orderBy: { sequence: "asc" },
      take: limit,
    });
  }

  /** The sequence of the first event past `sequence`, if any. */
  async firstSequenceAfter(tenantId: string, sequence: bigint): Promise<bigint | null> {
    const beyond = await this.prisma.auditEvent.findFirst({
      where: { tenantId, sequence: { gt: sequence } },
      orderBy: { sequence: "asc" },
      select: { sequence: true },
    });
    return beyond?.sequence ?? null;
  }
}

/** What a live feed reads after the last event it delivered (src/modules/live). */
export interface AuditEventsAfter {
  /** Only events about these bases, plus `alwaysActions`; null: every event. */
  baseIds: readonly string[] | null;
  /** Actions read whatever their base (identity changes that may end a subscriber's access). */
  alwaysActions: readonly AuditEvent["action"][];
  /** Kinds read whatever their base (change requests, for their subscribers); none when omitted. */
  alwaysKinds?: readonly AuditEvent["resourceKind"][];
}

/** Up to `limit` events after `sequence`, oldest first, narrowed as `filter` says. */
export function auditEventsAfter(database: Database, tenantId: string, sequence: bigint, filter: AuditEventsAfter, limit: number): Promise<AuditEvent[]> {
  const narrowed: Prisma.AuditEventWhereInput | null = filter.baseIds
    ? {
        OR: [
          { baseId: { in: [...filter.baseIds] }, action: { not: "EXECUTED" } },
          { action: { in: [...filter.alwaysActions] } },
          ...(filter.alwaysKinds?.length ? [{ resourceKind: { in: [...filter.alwaysKinds] } }] : []),
        ],
      }
    : null;
  return database.prisma.auditEvent.findMany({
    where: { tenantId, sequence: { gt: sequence }, ...(narrowed ?? {}) },
    orderBy: { sequence: "asc" },
    take: limit,
  });
}

/** The tenant's last audit sequence now (0 before its first event). */
export async function lastAuditSequence(database: Database, tenantId: string): Promise<bigint> {
  const head = await database.prisma.auditChainHead.findUnique({ where: { tenantId }, select: { lastSequence: true } });
  return head?.lastSequence ?? 0n;
}

import type { AuditAction, AuditResourceKind } from "../../generated/prisma/enums.js";
import type { Prisma } from "../../generated/prisma/client.js";
import { actorOf, type Principal } from "../../identity/principal.js";
import { chainHash, GENESIS_HASH } from "./audit-chain.js";

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

/**
 * Appends events, each with its own actor, to the tenant's hash chain inside the caller's transaction, so
 * a change and its events commit or roll back together. The chain head row is locked for the rest of the
 * transaction: concurrent writers of one tenant queue there and form one unbroken chain.
 */
export async function recordAttributedAuditEvents(
  tx: Transaction,
  tenantId: string,
  entries: readonly AttributedAuditEvent[],
): Promise<void> {
  if (entries.length === 0) return;
  // Creates the head on a tenant's first event and locks it (ON CONFLICT DO UPDATE locks the row and returns
  // its latest committed values) in one round trip.
  const [head] = await tx.$queryRaw<{ last_sequence: bigint; last_hash: string }[]>`
    INSERT INTO audit_chain_heads (tenant_id) VALUES (${tenantId}::uuid)
    ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id
    RETURNING last_sequence, last_hash`;
  let sequence = head?.last_sequence ?? 0n;
  let previousHash = head?.last_hash ?? GENESIS_HASH;
  // One timestamp per batch, taken once the head is locked so times follow the chain order. Date.now() is
  // whole milliseconds, the column's precision, so the stored row rehashes equal.
  const occurredAt = new Date(Date.now());
  const rows = entries.map(({ principal, event }) => {
    sequence += 1n;
    const actor = principal ? actorOf(principal) : { actorType: "SYSTEM" as const, actorId: null };
    const fields = {
      tenantId,
      sequence,
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
    const row = { ...fields, previousHash, hash: chainHash(previousHash, fields) };
    previousHash = row.hash;
    return row;
  });
  await insertRows(tx, tenantId, rows);
}

interface Row {
  sequence: bigint;
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  resourceKind: string;
  baseId: string | null;
  recordId: string | null;
  version: number | null;
  groupId: string | null;
  detail: Record<string, unknown>;
  previousHash: string;
  hash: string;
}

/**
 * All rows in one INSERT … SELECT FROM unnest(arrays), and the head moved in the same statement. Prisma's
 * createMany builds one parameter per value and is several times slower for batches, which matters for the
 * execution events that arrive by the hundred.
 */
async function insertRows(tx: Transaction, tenantId: string, rows: readonly Row[]): Promise<void> {
  const last = rows.at(-1)!;
  // A data-modifying CTE always runs to completion, so the events and the new head are written together.
  await tx.$executeRaw`
    WITH appended AS (
      INSERT INTO audit_events (tenant_id, sequence, occurred_at, actor_type, actor_id, action, resource_kind, base_id, record_id,
                                version, group_id, detail, previous_hash, hash)
      SELECT ${tenantId}::uuid, e.sequence, e.occurred_at, e.actor_type::"ActorType", e.actor_id, e.action::"AuditAction",
             e.resource_kind::"AuditResourceKind", e.base_id, e.record_id, e.version, e.group_id, e.detail, e.previous_hash, e.hash
      FROM unnest(
        ${rows.map((r) => r.sequence)}::bigint[], ${rows.map((r) => r.occurredAt)}::timestamptz[], ${rows.map((r) => r.actorType)}::text[],
        ${rows.map((r) => r.actorId)}::uuid[], ${rows.map((r) => r.action)}::text[], ${rows.map((r) => r.resourceKind)}::text[],
        ${rows.map((r) => r.baseId)}::uuid[], ${rows.map((r) => r.recordId)}::uuid[], ${rows.map((r) => r.version)}::int[],
        ${rows.map((r) => r.groupId)}::uuid[], ${rows.map((r) => JSON.stringify(r.detail))}::jsonb[],
        ${rows.map((r) => r.previousHash)}::text[], ${rows.map((r) => r.hash)}::text[]
      ) AS e(sequence, occurred_at, actor_type, actor_id, action, resource_kind, base_id, record_id, version, group_id, detail, previous_hash, hash)
    )
    UPDATE audit_chain_heads SET last_sequence = ${last.sequence}, last_hash = ${last.hash} WHERE tenant_id = ${tenantId}::uuid`;
}

/** Appends events that all have the same actor (see recordAttributedAuditEvents). */
export function recordAuditEvents(
  tx: Transaction,
  principal: Principal | null,
  tenantId: string,
  events: readonly AuditEventInput[],
): Promise<void> {
  return recordAttributedAuditEvents(
    tx,
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

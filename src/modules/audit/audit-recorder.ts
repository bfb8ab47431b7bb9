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
  await tx.$executeRaw`INSERT INTO audit_chain_heads (tenant_id) VALUES (${tenantId}::uuid) ON CONFLICT DO NOTHING`;
  const [head] = await tx.$queryRaw<{ last_sequence: bigint; last_hash: string }[]>`
    SELECT last_sequence, last_hash FROM audit_chain_heads WHERE tenant_id = ${tenantId}::uuid FOR UPDATE`;
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
    const hash = chainHash(previousHash, fields);
    const row = { ...fields, detail: fields.detail as Prisma.InputJsonValue, previousHash, hash };
    previousHash = hash;
    return row;
  });
  await tx.auditEvent.createMany({ data: rows });
  await tx.auditChainHead.update({ where: { tenantId }, data: { lastSequence: sequence, lastHash: previousHash } });
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

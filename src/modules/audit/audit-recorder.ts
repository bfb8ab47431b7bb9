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

/**
 * Appends events to the tenant's hash chain inside the caller's transaction, so a change and its events
 * commit or roll back together. The chain head row is locked for the rest of the transaction: concurrent
 * writers of one tenant queue there and form one unbroken chain.
 */
export async function recordAuditEvents(
  tx: Transaction,
  principal: Principal | null,
  tenantId: string,
  events: readonly AuditEventInput[],
): Promise<void> {
  if (events.length === 0) return;
  await tx.$executeRaw`INSERT INTO audit_chain_heads (tenant_id) VALUES (${tenantId}::uuid) ON CONFLICT DO NOTHING`;
  const [head] = await tx.$queryRaw<{ last_sequence: bigint; last_hash: string }[]>`
    SELECT last_sequence, last_hash FROM audit_chain_heads WHERE tenant_id = ${tenantId}::uuid FOR UPDATE`;
  let sequence = head?.last_sequence ?? 0n;
  let previousHash = head?.last_hash ?? GENESIS_HASH;
  const actor = principal ? actorOf(principal) : { actorType: "SYSTEM" as const, actorId: null };
  // One timestamp per batch, truncated to the column's millisecond precision so the stored row rehashes equal.
  const occurredAt = new Date(Math.floor(Date.now()));
  const rows = events.map((event) => {
    sequence += 1n;
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
      detail: event.detail ?? {},
    };
    const hash = chainHash(previousHash, fields);
    const row = { ...fields, detail: fields.detail as Prisma.InputJsonValue, previousHash, hash };
    previousHash = hash;
    return row;
  });
  await tx.auditEvent.createMany({ data: rows });
  await tx.auditChainHead.update({ where: { tenantId }, data: { lastSequence: sequence, lastHash: previousHash } });
}

export const recordAuditEvent = (
  tx: Transaction,
  principal: Principal | null,
  tenantId: string,
  event: AuditEventInput,
): Promise<void> => recordAuditEvents(tx, principal, tenantId, [event]);

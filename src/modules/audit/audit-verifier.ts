import type { PrismaClient } from "../../generated/prisma/client.js";
import { chainHash, GENESIS_HASH } from "./audit-chain.js";

export interface ChainVerification {
  valid: boolean;
  checkedEvents: number;
  firstBrokenSequence: bigint | null;
  reason: string | null;
}

/**
 * Recomputes a tenant's chain from the genesis hash, streaming events in sequence order a page at a time so a
 * large log never sits in memory at once. Only events up to the chain head read at the start are checked:
 * those committed before it, so concurrent appends neither race nor break the check.
 *
 * A row whose content was changed fails at its own sequence (its recomputed hash differs from the stored one);
 * a removed row fails at the missing sequence; a removed tail fails against the chain head.
 */
export async function verifyChain(prisma: PrismaClient, tenantId: string, pageSize = 500): Promise<ChainVerification> {
  const head = await prisma.auditChainHead.findUnique({ where: { tenantId } });
  const lastSequence = head?.lastSequence ?? 0n;
  const broken = (checkedEvents: number, sequence: bigint, reason: string): ChainVerification => ({
    valid: false,
    checkedEvents,
    firstBrokenSequence: sequence,
    reason,
  });

  let expected = 1n;
  let previousHash = GENESIS_HASH;
  let checked = 0;
  while (expected <= lastSequence) {
    const page = await prisma.auditEvent.findMany({
      where: { tenantId, sequence: { gte: expected, lte: lastSequence } },
      orderBy: { sequence: "asc" },
      take: pageSize,
    });
    if (page.length === 0) break;
    for (const event of page) {
      if (event.sequence !== expected) {
        return broken(checked, expected, `event ${expected} is missing (the next stored event is ${event.sequence})`);
      }
      if (event.previousHash !== previousHash) {
        return broken(checked, expected, `event ${expected} does not link to the event before it`);
      }
      const recomputed = chainHash(previousHash, event);
      if (recomputed !== event.hash) {
        return broken(checked, expected, `event ${expected} was altered: its content does not match its hash`);
      }
      previousHash = recomputed;
      expected += 1n;
      checked += 1;
    }
  }
  if (expected <= lastSequence) {
    return broken(checked, expected, `events ${expected} to ${lastSequence} are missing`);
  }
  if (head && head.lastHash !== previousHash) {
    return broken(checked, lastSequence, `the chain head does not match event ${lastSequence}`);
  }
  if (!head) {
    // No head means nothing was ever appended through the recorder: any event here was inserted behind its back.
    const stray = await prisma.auditEvent.findFirst({ where: { tenantId }, orderBy: { sequence: "asc" }, select: { sequence: true } });
    if (stray) return broken(0, stray.sequence, `event ${stray.sequence} exists without a chain head`);
  }
  return { valid: true, checkedEvents: checked, firstBrokenSequence: null, reason: null };
}

import type { AuditStore } from "../../stores/audit.store.js";
import { chainHash, GENESIS_HASH } from "./audit-chain.js";

export interface ChainVerification {
  valid: boolean;
  checkedEvents: number;
  firstBrokenSequence: bigint | null;
  reason: string | null;
}

/**
 * Recomputes a tenant's chain from the genesis hash, streaming events in sequence order a page at a time so a
 * large log never sits in memory at once.
 *
 * Every append writes its events and moves the chain head in one atomic statement, so the events up to a head
 * that was read are all committed: the check runs up to the head, then compares the last hash with the head's.
 * An event past the head is either an append that committed meanwhile (the head has moved on to cover it: it
 * is checked too) or was put there behind the gateway's back.
 *
 * A changed row fails at its own sequence (its recomputed hash differs from the stored one), a removed row at
 * the missing sequence, a removed tail against the chain head, a row added past the head at its sequence.
 */
export async function verifyChain(store: AuditStore, tenantId: string, pageSize = 500): Promise<ChainVerification> {
  const readHead = () => store.head(tenantId);
  const broken = (sequence: bigint, reason: string): ChainVerification => ({
    valid: false,
    checkedEvents: checked,
    firstBrokenSequence: sequence,
    reason,
  });

  let head = await readHead();
  let expected = 1n;
  let previousHash = GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const lastSequence = head?.lastSequence ?? 0n;
    while (expected <= lastSequence) {
      const page = await store.eventsBetween(tenantId, expected, lastSequence, pageSize);
      if (page.length === 0) return broken(expected, `events ${expected} to ${lastSequence} are missing`);
      for (const event of page) {
        if (event.sequence !== expected) {
          return broken(expected, `event ${expected} is missing (the next stored event is ${event.sequence})`);
        }
        if (event.previousHash !== previousHash) {
          return broken(expected, `event ${expected} does not link to the event before it`);
        }
        const recomputed = chainHash(previousHash, event);
        if (recomputed !== event.hash) {
          return broken(expected, `event ${expected} was altered: its content does not match its hash`);
        }
        previousHash = recomputed;
        expected += 1n;
        checked += 1;
      }
    }
    if (head && head.lastHash !== previousHash) {
      return broken(lastSequence, `the chain head does not match event ${lastSequence}`);
    }
    const beyond = await store.firstSequenceAfter(tenantId, lastSequence);
    if (beyond === null) return { valid: true, checkedEvents: checked, firstBrokenSequence: null, reason: null };
    const moved = await readHead();
    if (!moved || moved.lastSequence < beyond) {
      return broken(beyond, `event ${beyond} lies beyond the chain head`);
    }
    head = moved; // appends committed while checking: check them too
  }
}

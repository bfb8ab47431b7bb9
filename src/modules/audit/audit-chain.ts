import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

export const GENESIS_HASH = "0".repeat(64);

/** The fields of an event that its hash covers, in the form they are stored. */
export interface ChainedFields {
  tenantId: string;
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
  detail: unknown;
}

/**
 * hash = sha256(previousHash ‖ JCS(event)). RFC 8785 canonical JSON makes the bytes independent of key
 * order and number formatting, so a verifier in any language recomputes the same hash.
 */
export function chainHash(previousHash: string, event: ChainedFields): string {
  const canonical = canonicalize({
    tenantId: event.tenantId,
    sequence: event.sequence.toString(),
    occurredAt: event.occurredAt.toISOString(),
    actorType: event.actorType,
    actorId: event.actorId,
    action: event.action,
    resourceKind: event.resourceKind,
    baseId: event.baseId,
    recordId: event.recordId,
    version: event.version,
    groupId: event.groupId,
    detail: event.detail ?? {},
  });
  return createHash("sha256").update(previousHash).update(canonical ?? "").digest("hex");
}

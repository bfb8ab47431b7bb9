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

function canonicalForm(event: Omit<ChainedFields, "sequence">, sequence: string): string {
  return (
    canonicalize({
      tenantId: event.tenantId,
      sequence,
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
    }) ?? ""
  );
}

/**
 * hash = sha256(previousHash ‖ JCS(event)). RFC 8785 canonical JSON makes the bytes independent of key
 * order and number formatting, so a verifier in any language recomputes the same hash.
 */
export function chainHash(previousHash: string, event: ChainedFields): string {
  return createHash("sha256").update(previousHash).update(canonicalForm(event, event.sequence.toString())).digest("hex");
}

const SLOT = "__sequence__";
const SLOT_MEMBER = `"sequence":"${SLOT}"`;

/**
 * The canonical JSON of an event around its sequence number, for appenders that learn the sequence only
 * once the chain head is locked (in SQL): JCS(event) = prefix ‖ sequence ‖ suffix, so
 * chainHash(previous, event) = sha256(previous ‖ prefix ‖ sequence ‖ suffix).
 * JCS sorts members, and every top-level member after `sequence` (`tenantId`, `version`) is a UUID or a
 * number, so the last occurrence of the slot is the top-level one even if the detail mentions it.
 */
export function canonicalAroundSequence(event: Omit<ChainedFields, "sequence">): { prefix: string; suffix: string } {
  const canonical = canonicalForm(event, SLOT);
  const at = canonical.lastIndexOf(SLOT_MEMBER);
  const valueStart = at + SLOT_MEMBER.length - SLOT.length - 1; // after the opening quote of the value
  return { prefix: canonical.slice(0, valueStart), suffix: canonical.slice(valueStart + SLOT.length) };
}

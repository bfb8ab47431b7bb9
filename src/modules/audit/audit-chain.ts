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
 * RFC 8785 (JCS) of an event. The top level has fixed members whose values are strings, null or an integer,
 * for which JCS is exactly JSON.stringify; so only the free-form detail goes through the general
 * canonicaliser, and the members are written in JCS order (UTF-16 code units) directly. This runs for every
 * audited run; the property test in test/audit/audit-chain.test.ts checks it against `canonicalize`.
 */
function canonicalForm(event: Omit<ChainedFields, "sequence">, sequence: string): string {
  const text = JSON.stringify;
  return (
    `{"action":${text(event.action)},"actorId":${text(event.actorId)},"actorType":${text(event.actorType)}` +
    `,"baseId":${text(event.baseId)},"detail":${canonicalize(event.detail ?? {}) ?? "{}"},"groupId":${text(event.groupId)}` +
    `,"occurredAt":${text(event.occurredAt.toISOString())},"recordId":${text(event.recordId)}` +
    `,"resourceKind":${text(event.resourceKind)},"sequence":${text(sequence)},"tenantId":${text(event.tenantId)}` +
    `,"version":${text(event.version)}}`
  );
}

/** The general canonicaliser over the same members, which the fast form above must always equal. */
export function referenceCanonicalForm(event: ChainedFields): string {
  return (
    canonicalize({
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

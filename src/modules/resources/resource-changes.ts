import type { Transaction } from "../audit/audit-recorder.js";

/**
 * Every gateway process caches what it runs; a change to a base is announced on this channel so each of
 * them drops its entries. NOTIFY inside the transaction is delivered only if the change commits.
 */
export const RESOURCE_CHANGED_CHANNEL = "verdict_resource_changed";

export async function announceResourceChange(tx: Transaction, baseId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${RESOURCE_CHANGED_CHANNEL}, ${baseId})`;
}

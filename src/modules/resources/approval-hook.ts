import { DomainError, DomainErrorCode } from "../../errors/domain-error.js";
import type { ApprovalAction } from "../../generated/prisma/enums.js";
import type { TenantActor } from "../../identity/actor.js";
import type { Base } from "../../stores/base.store.js";
import type { Transaction } from "../../stores/transaction.js";

/** A change the lifecycle is about to apply, as approval policies see it (src/modules/approvals/README.md). */
export interface GovernedChange {
  action: ApprovalAction;
  /**
   * The base the change is about, locked by the change's transaction; null for a change of no base (role
   * assignments, API keys), whose context then has no base fields at all.
   */
  base: Base | null;
  /** Exactly what would be applied, as the change request records it (for a publish: draft ID, revision, description). */
  payload: Record<string, unknown>;
  /** Changed lines (a publish: lines added or removed against the latest version); roles granted; scopes of a key. */
  size: number;
  /** Facts of a change of no base that conditions may read (src/modules/approvals/README.md, "Conditions"). */
  facts?: { rolesAdded?: string[]; scopes?: string[] };
}

/**
 * Four-eyes changes (src/modules/approvals/README.md), wired in src/services.ts so that this module does not depend on approvals.
 * Called inside the change's transaction once every other check has passed and before anything is written.
 */
export interface ApprovalHook {
  /**
   * Null when no enabled policy governs the change for this actor (the lifecycle applies it as always).
   * Otherwise, with `request`, the ID of the pending change request it created in `tx`; without, it throws
   * CONFLICT (approval required) so that callers whose result type cannot say "pending" change nothing.
   */
  intercept(tx: Transaction, actor: TenantActor, change: GovernedChange, options: { request: boolean }): Promise<string | null>;
}

/** What a governed change's mutation answers: the change applied, or the request waiting for approval. */
export type Governed<T> = { applied: T } | { changeRequestId: string };

/** The applied result of a call made without requests, where the hook throws instead of answering "pending". */
export function appliedOnly<T>(outcome: Governed<T>): T {
  if ("applied" in outcome) return outcome.applied;
  throw new Error("A change made without requests answered with a change request");
}

/** Runs a check of an approved change: its CONFLICT means the world moved on since the request (stale). */
export async function staleOnConflict<T>(check: () => Promise<T>): Promise<{ value: T } | { stale: string }> {
  try {
    return { value: await check() };
  } catch (error) {
    if (error instanceof DomainError && error.code === DomainErrorCode.Conflict) return { stale: error.message };
    throw error;
  }
}

import type { ApprovalAction } from "../../generated/prisma/enums.js";
import type { TenantActor } from "../../identity/actor.js";
import type { Base } from "../../stores/base.store.js";
import type { Transaction } from "../../stores/transaction.js";

/** A change the lifecycle is about to apply, as approval policies see it (src/modules/approvals/README.md). */
export interface GovernedChange {
  action: ApprovalAction;
  /** The base the change is about, locked by the change's transaction. */
  base: Base;
  /** Exactly what would be applied, as the change request records it (for a publish: draft ID, revision, description). */
  payload: Record<string, unknown>;
  /** Changed lines (a publish: lines added or removed against the latest version). */
  size: number;
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

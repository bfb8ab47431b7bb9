import type { Base } from "../../stores/base.store.js";
import type { Transaction } from "../../stores/transaction.js";

/**
 * The rules other modules add to the lifecycle's own changes (the catalogue's locks, aliases and
 * dependencies), wired in src/services.ts so that this module does not depend on them.
 */
export interface LifecycleGuards {
  /** CONFLICT while the base is locked. */
  assertUnlocked(tx: Transaction, base: Base): Promise<void>;
  /** CONFLICT when another live base took the deleted base's alias. */
  assertAliasFreeForRestore(tx: Transaction, base: Base): Promise<void>;
  /** CONFLICT when live flows' latest versions use the policy, unless forced; the flows, when forced. */
  flowsBlockingDeletion(tx: Transaction, base: Base, force: boolean): Promise<{ id: string; name: string; version: number }[]>;
  /** A listing's tag filter, normalised like stored tags. */
  tagFilter(tags: readonly string[]): string[];
}

import type { TenantActor } from "../../identity/actor.js";

/** A stored run whose answer is ready: what ran, on what input, at what evaluation time, and what it answered. */
export interface ObservedRun {
  actor: TenantActor;
  tenantId: string;
  baseId: string;
  recordId: string;
  kind: "POLICY" | "FLOW";
  data: unknown;
  /** The evaluation time the run used (pinned or the current time). */
  now: Date;
  /** A policy's true/false, a flow's returned value. */
  result: unknown;
  error: string | null;
  /** One input of `runPolicyBatch`. */
  batch: boolean;
}

/**
 * Told of every stored run after its answer is ready (input recording for replay and shadow runs,
 * src/modules/replay/README.md).
 * `observe` must return at once: whatever it does happens off the response path.
 */
export interface RunObserver {
  observe(run: ObservedRun): void;
}

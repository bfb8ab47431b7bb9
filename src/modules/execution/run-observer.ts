/**
 * Told of every stored run's input after its answer is ready (input recording for replay).
 * `observe` must return at once: whatever it does happens off the response path.
 */
export interface RunObserver {
  observe(run: { tenantId: string; baseId: string; recordId: string; data: unknown }): void;
}

export const NO_RUN_OBSERVER: RunObserver = { observe() {} };

import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { conflict, invalidInput } from "../../errors/domain-error.js";
import type { TenantActor } from "../../identity/actor.js";
import type { StoredTest } from "./resource.types.js";

/** One stored test's outcome, as the gate reports it. */
export interface GateTestOutcome {
  name: string;
  passed: boolean;
  expected: unknown;
  actual: unknown;
  error: string | null;
}

/**
 * Runs a record's stored tests without auditing them as a run (the PUBLISHED event, or the refusal, says what
 * they gave). Wired to the execution module in services.ts, so resources need not import execution.
 */
export type StoredTestRunner = (actor: TenantActor, recordId: string, tests: readonly StoredTest[]) => Promise<GateTestOutcome[]>;

/** What the PUBLISHED event records about the gate. */
export interface GateVerdict {
  tests: { passed: number; failed: number };
  override?: { reason: string; failingTests: string[] };
}

/**
 * Publishing a record whose stored tests fail is refused with CONFLICT listing each failing test,
 * unless an admin overrides with a reason. An override is checked before any test runs, so a publisher who
 * may not override learns that at once rather than only when a test fails. A record without tests passes.
 */
export async function gateOnStoredTests(
  run: StoredTestRunner,
  actor: TenantActor,
  recordId: string,
  tests: readonly StoredTest[],
  override: { reason: string } | null | undefined,
): Promise<GateVerdict> {
  const reason = override ? override.reason.trim() : null;
  if (override) {
    requireAction(actor, Action.OverrideTestGate);
    if (!reason) throw invalidInput("override.reason", "must say why the failing tests may be ignored");
  }
  const outcomes = tests.length > 0 ? await run(actor, recordId, tests) : [];
  const failing = outcomes.filter((outcome) => !outcome.passed);
  const verdict: GateVerdict = { tests: { passed: outcomes.length - failing.length, failed: failing.length } };
  if (failing.length > 0 && reason === null) {
    throw conflict(`${failing.length} of ${outcomes.length} stored tests fail; fix them, or an admin may publish with an override and a reason`, {
      failingTests: failing.map(({ name, expected, actual, error }) => ({ name, expected, actual, error })),
    });
  }
  if (reason !== null) verdict.override = { reason, failingTests: failing.map((outcome) => outcome.name) };
  return verdict;
}

import { compilePolicy, type CompiledPolicy, type PolicyResponse } from "../../engine/index.js";
import { FlowError, parseFlow, runFlow, type FlowDefinition, type PolicyRunner } from "../../engine/flow/index.js";
import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { exists } from "../../authorization/resource-access.js";
import { DomainError, DomainErrorCode, invalidInput, notFound } from "../../errors/domain-error.js";
import type { TenantActor } from "../../identity/actor.js";
import type { ExecutionAuditSink } from "./execution-audit-sink.js";
import type { ObservedRun, RunObserver } from "./run-observer.js";
import type { Evaluated, EvaluationLimits, Evaluator, LargeBody } from "./evaluator.js";
import { LargeData } from "./large-data.js";
import { type FlowRun, type PolicyRun, ranRecord } from "./run-result.js";
import type { Runnable, RunnableCache } from "./runnable-cache.js";

export const MAX_BATCH_INPUTS = 1_000;
/**
 * Unsaved rule texts longer than this are compiled in the worker pool. Parsing runs at roughly a megabyte a second
 * when the machine is idle and several times slower when it is loaded (bench:abuse measured 20–60 ms for 8,000
 * characters at load 15 on 2 cores): 2,048 characters keep the event loop's share to a millisecond or two, and a
 * human-written policy of a few rules still runs in line.
 */
const INLINE_COMPILE_MAX_CHARS = 2_048;
/** Flow texts longer than this are parsed in the worker pool: YAML parsing is slower per character than rules. */
const INLINE_FLOW_PARSE_MAX_CHARS = 4_096;
/**
 * A flow's nodes run one after another in one chain of promises, which never lets the event loop serve anything
 * else unless a node goes to the database or the pool. After this much time of that, the flow waits for its next
 * turn (setImmediate), so a wide flow of cheap nodes cannot hold the loop either.
 */
const FLOW_TURN_NS = 2_000_000n;
/** `matches pattern` / `matches regex` (docs/language.md): a cheap over-approximation, false positives only cost latency. */
const MAY_HAVE_PATTERNS = /pattern|regex/i;

export type RunTarget = { by: "base"; id: string } | { by: "record"; id: string };

/** A stored test as records hold it; `now` pins the evaluation time. */
export interface StoredTestCase {
  name: string;
  data: unknown;
  expected: unknown;
  now?: Date | null;
}

export interface StoredTestOutcome {
  name: string;
  passed: boolean;
  expected: unknown;
  actual: unknown;
  error: string | null;
}

/** A failure of a flow as a whole (docs/language.md#flow-errors), kept with its wire code for the REST shim. */
export class FlowRunError extends DomainError {
  constructor(readonly flowError: FlowError) {
    super(
      flowError.code === "POLICY_NOT_FOUND" || flowError.code === "FLOW_NOT_FOUND" ? DomainErrorCode.NotFound : DomainErrorCode.InvalidInput,
      flowError.message,
      { flowErrorCode: flowError.code, ...flowError.details },
    );
  }
}

/**
 * Every way of running policies and flows, for GraphQL and REST alike. Runs never change a policy; runs of
 * stored resources are audited, and return only once their event is durable.
 */
export class ExecutionService {
  constructor(
    private readonly runnables: RunnableCache,
    private readonly audit: ExecutionAuditSink,
    private readonly evaluator: Evaluator,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Set once at wiring (services.ts): the replay module records inputs of bases that opted in and evaluates
   * shadow records. Each is told of a run after its answer is ready and must return at once.
   */
  runObservers: RunObserver[] = [];

  /**
   * A request body too large to parse on the event loop, parsed in the worker pool in the actor's tenant's turn
   * (large-data.ts): its `data` comes back as a LargeData, which every method here takes as data.
   */
  parseLargeBody(actor: TenantActor, body: Uint8Array): Promise<LargeBody> {
    return this.evaluator.parseBody(actor.tenantId, body);
  }

  /**
   * `now` (GraphQL only) asks what the policy would decide at that time; absent, it is the current time.
   * `arrivedAt` is when the request arrived (`process.hrtime.bigint()`): the run then sees every change
   * announced before that moment, and shares the catch-up round trip its credential's lookup already made.
   * `prepare`, when given, is called with the response once the policy is evaluated, and what it returns comes back
   * as `prepared`, while the run still resolves only once its event is committed. The REST shim writes its answer
   * there (all of it but the timings): the main thread writes 5 KB while the batch before commits, instead of in the
   * burst of answers that a commit releases, where every write waited for the one before.
   */
  async runPolicy<Prepared = never>(
    actor: TenantActor,
    target: RunTarget,
    data: unknown,
    now?: Date | null,
    arrivedAt?: bigint,
    prepare?: (response: PolicyResponse) => Prepared,
  ): Promise<PolicyRun & { prepared?: Prepared }> {
    const started = process.hrtime.bigint();
    requireAction(actor, Action.RunResources);
    requireDataObject(data);
    const runnable = await this.resolve(actor, target, "POLICY", this.runnables.forOneOperation(actor.tenantId, arrivedAt));
    const loadedAt = process.hrtime.bigint();
    const at = now ?? this.now();
    const { response, engineNs } = await this.evaluate(actor, runnable.compiled!, data, at);
    const prepared = prepare?.(response);
    await this.audit.record(actor, actor.tenantId, executedEvent(runnable, { by: target.by, result: response.result, error: response.error, ...pinned(now) }));
    this.observe(actor, runnable, data, at, response.result, response.error, false);
    const databaseNs = loadedAt - started;
    return {
      response,
      record: ranRecord(runnable),
      timings: { engineNs, databaseNs, gatewayNs: process.hrtime.bigint() - started - databaseNs - engineNs },
      prepared,
    };
  }

  /**
   * An unsaved rule text: nothing stored, nothing audited. A long text, or one with patterns, is compiled in the
   * worker pool: parsing 100,000 characters, or compiling a large pattern's automaton (tens of ms each), would
   * hold the event loop longer than any evaluation may.
   */
  async runRule(actor: TenantActor, text: string, data: unknown, now?: Date | null): Promise<PolicyRun> {
    const started = process.hrtime.bigint();
    requireAction(actor, Action.RunResources);
    requireDataObject(data);
    const { response, engineNs } =
      text.length > INLINE_COMPILE_MAX_CHARS || MAY_HAVE_PATTERNS.test(text)
        ? await this.evaluator.evaluateText(actor.tenantId, text, data, now ?? this.now())
        : await this.evaluate(actor, compilePolicy(text), data, now);
    return { response, record: null, timings: { engineNs, databaseNs: 0n, gatewayNs: process.hrtime.bigint() - started - engineNs } };
  }

  /** Runs many inputs against one resolved record: one resolution, one audit event. */
  async runPolicyBatch(actor: TenantActor, target: RunTarget, inputs: readonly unknown[], now?: Date | null): Promise<PolicyRun[]> {
    requireAction(actor, Action.RunResources);
    if (inputs.length > MAX_BATCH_INPUTS) throw invalidInput("inputs", `at most ${MAX_BATCH_INPUTS} inputs per batch`);
    for (const [index, data] of inputs.entries()) requireDataObject(data, `inputs[${index}]`);
    const runnable = await this.resolve(actor, target, "POLICY");
    const at = now ?? this.now();
    const runs: PolicyRun[] = [];
    for (const data of inputs) {
      const started = process.hrtime.bigint();
      const { response, engineNs } = await this.evaluate(actor, runnable.compiled!, data, at);
      runs.push({ response, record: ranRecord(runnable), timings: { engineNs, databaseNs: 0n, gatewayNs: process.hrtime.bigint() - started - engineNs } });
    }
    await this.audit.record(
      actor,
      actor.tenantId,
      executedEvent(runnable, { by: target.by, batch: inputs.length, passed: runs.filter((r) => r.response.result).length, ...pinned(now) }),
    );
    for (const [index, run] of runs.entries()) this.observe(actor, runnable, inputs[index], at, run.response.result, run.response.error, true);
    return runs;
  }

  /** `now` and `arrivedAt` as for runPolicy. */
  async runFlow(actor: TenantActor, target: RunTarget, data: unknown, now?: Date | null, arrivedAt?: bigint): Promise<FlowRun> {
    requireAction(actor, Action.RunResources);
    requireDataObject(data);
    const lookup = this.runnables.forOneOperation(actor.tenantId, arrivedAt);
    const runnable = await this.resolve(actor, target, "FLOW", lookup);
    const at = now ?? this.now();
    const response = await this.executeFlow(actor, await this.loadFlow(actor, runnable.content), data, at, lookup);
    await this.audit.record(actor, actor.tenantId, executedEvent(runnable, { by: target.by, result: response.result ?? null, ...pinned(now) }));
    this.observe(actor, runnable, data, at, response.result ?? null, null, false);
    return { response, record: ranRecord(runnable) };
  }

  /** An unsaved flow definition (YAML or JSON text). Its nodes still run stored policies. */
  async testFlow(actor: TenantActor, definition: string, data: unknown, now?: Date | null): Promise<FlowRun> {
    requireAction(actor, Action.RunResources);
    requireDataObject(data);
    return { response: await this.executeFlow(actor, await this.loadFlow(actor, definition), data, now), record: null };
  }

  /** Runs a record's stored tests and compares each result with its expectation; audited as one run. */
  async runStoredTests(actor: TenantActor, recordId: string, tests: readonly StoredTestCase[]): Promise<StoredTestOutcome[]> {
    const { runnable, outcomes } = await this.evaluateStoredTests(actor, recordId, tests);
    await this.audit.record(
      actor,
      actor.tenantId,
      executedEvent(runnable, { by: "record", tests: outcomes.length, passed: outcomes.filter((o) => o.passed).length }),
    );
    return outcomes;
  }

  /**
   * The stored tests' outcomes without an `executed` event: the publish gate's check, whose result the
   * PUBLISHED event (or the refusal) already says. Each test runs at its pinned `now`, else the current time.
   */
  async evaluateStoredTests(
    actor: TenantActor,
    recordId: string,
    tests: readonly StoredTestCase[],
  ): Promise<{ runnable: Runnable; outcomes: StoredTestOutcome[] }> {
    requireAction(actor, Action.RunResources);
    const lookup = this.runnables.forOneOperation(actor.tenantId);
    const runnable = await this.resolve(actor, { by: "record", id: recordId }, null, lookup);
    const outcomes: StoredTestOutcome[] = [];
    for (const test of tests) {
      if (runnable.kind === "POLICY") {
        const { response } = await this.evaluate(actor, runnable.compiled!, test.data, test.now);
        outcomes.push({
          name: test.name,
          passed: response.error === null && response.result === test.expected,
          expected: test.expected,
          actual: response.result,
          error: response.error,
        });
      } else {
        try {
          const response = await this.executeFlow(actor, await this.loadFlow(actor, runnable.content), test.data, test.now, lookup);
          outcomes.push({
            name: test.name,
            passed: JSON.stringify(response.result) === JSON.stringify(test.expected),
            expected: test.expected,
            actual: response.result,
            error: null,
          });
        } catch (error) {
          if (!(error instanceof FlowRunError)) throw error;
          outcomes.push({ name: test.name, passed: false, expected: test.expected, actual: null, error: error.message });
        }
      }
    }
    return { runnable, outcomes };
  }

  /**
   * What a stored record answers on `data` at `now`, recording and auditing nothing: a shadow run (src/modules/replay/README.md),
   * evaluated after the live run's answer was sent. A flow's failure is its error; a refusal of the worker pool
   * (the tenant's queue is full) is thrown.
   */
  async evaluateQuietly(actor: TenantActor, runnable: Runnable, data: unknown, now: Date): Promise<{ result: unknown; error: string | null }> {
    if (runnable.kind === "POLICY") {
      const { response } = await this.evaluate(actor, runnable.compiled!, data, now);
      return { result: response.result, error: response.error };
    }
    try {
      const response = await this.executeFlow(actor, await this.loadFlow(actor, runnable.content), data, now);
      return { result: response.result ?? null, error: null };
    } catch (error) {
      if (error instanceof FlowRunError) return { result: null, error: error.message };
      throw error;
    }
  }

  private observe(actor: TenantActor, runnable: Runnable, data: unknown, now: Date, result: unknown, error: string | null, batch: boolean): void {
    if (this.runObservers.length === 0) return;
    const run: ObservedRun = {
      actor,
      tenantId: actor.tenantId,
      baseId: runnable.baseId,
      recordId: runnable.recordId,
      kind: runnable.kind,
      data,
      now,
      result,
      error,
      batch,
    };
    for (const observer of this.runObservers) observer.observe(run);
  }

  /** In line when cheap, else in the worker pool, fairly between tenants (evaluator.ts). */
  private evaluate(actor: TenantActor, compiled: CompiledPolicy, data: unknown, now?: Date | null, limits?: EvaluationLimits): Promise<Evaluated> {
    return this.evaluator.evaluate(actor.tenantId, compiled, data, now ?? this.now(), limits);
  }

  /** A flow definition from its text: in line when short, else in the worker pool (INLINE_FLOW_PARSE_MAX_CHARS). */
  private async loadFlow(actor: TenantActor, text: string): Promise<FlowDefinition> {
    try {
      return text.length > INLINE_FLOW_PARSE_MAX_CHARS ? await this.evaluator.parseFlowText(actor.tenantId, text) : parseFlow(text);
    } catch (error) {
      if (error instanceof FlowError) throw new FlowRunError(error);
      throw error;
    }
  }

  private async executeFlow(
    actor: TenantActor,
    definition: FlowDefinition,
    data: unknown,
    now?: Date | null,
    lookup = this.runnables.forOneOperation(actor.tenantId),
  ) {
    // Every node of one flow run sees the same "today".
    const at = now ?? this.now();
    let turnStarted = process.hrtime.bigint();
    // Flow nodes name policies by base ID, record ID or alias (resolved when the node runs); any policy of the
    // tenant runs ("has the link").
    const runNode: PolicyRunner = async (policyId, nodeData, budget) => {
      if (process.hrtime.bigint() - turnStarted > FLOW_TURN_NS) {
        await new Promise((resolve) => setImmediate(resolve));
        turnStarted = process.hrtime.bigint();
      }
      const started = process.hrtime.bigint();
      const runnable = await lookup.byAnyId(policyId);
      if (!exists(actor, runnable) || runnable.kind !== "POLICY") return null;
      const databaseNs = process.hrtime.bigint() - started;
      const { response, engineNs, steps, answerBytes } = await this.evaluate(actor, runnable.compiled!, nodeData, at, budget);
      return { response, databaseNs, engineNs, steps, answerBytes };
    };
    try {
      // Large data is measured by the worker that parsed it: walking it here would mean parsing it here.
      return await runFlow(definition, data, runNode, undefined, data instanceof LargeData ? data.estimatedBytes : undefined);
    } catch (error) {
      if (error instanceof FlowError) throw new FlowRunError(error);
      throw error;
    }
  }

  /** Foreign-tenant, deleted, unknown and wrong-kind IDs are all simply not found. */
  private async resolve(
    actor: TenantActor,
    target: RunTarget,
    kind: "POLICY" | "FLOW" | null,
    lookup = this.runnables.forOneOperation(actor.tenantId),
  ): Promise<Runnable> {
    const runnable = target.by === "base" ? await lookup.byBase(target.id) : await lookup.byRecord(target.id);
    if (!exists(actor, runnable) || (kind && runnable.kind !== kind)) {
      throw notFound(kind === "FLOW" ? "Flow" : kind === "POLICY" ? "Policy" : "Record", target.id);
    }
    return runnable;
  }
}

function requireDataObject(data: unknown, field = "data"): void {
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw invalidInput(field, "must be a JSON object");
}

/** A run at a pinned time says so in its audit event. */
const pinned = (now: Date | null | undefined) => (now ? { now: now.toISOString() } : {});

function executedEvent(runnable: Runnable, detail: Record<string, unknown>) {
  return {
    action: "EXECUTED" as const,
    resourceKind: runnable.kind,
    baseId: runnable.baseId,
    recordId: runnable.recordId,
    version: runnable.versionNumber,
    detail,
  };
}

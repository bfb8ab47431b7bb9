/**
 * Where policy evaluations run, so that no request can stall the gateway for everyone (issue #11).
 *
 * Every evaluation first runs in line with a small slice of its budget (SLICE_STEPS steps, SLICE_ANSWER_BYTES of
 * answer): ordinary policies finish there in microseconds. One that uses up its slice gives up without an answer
 * and runs again, from the start, in a pool of worker threads with its whole budget and a deadline. Evaluation is
 * pure and `now` is fixed before the first attempt, so the second run gives the answer the first would have given.
 *
 * The pool is shared fairly between tenants: each tenant has its own queue, and a free worker takes the next job of
 * the tenant after the one it served last (round robin), so one tenant's expensive requests delay another tenant's
 * by at most one evaluation per worker. A tenant with MAX_QUEUED_PER_TENANT jobs waiting is refused (429) rather
 * than queued without bound. Nothing here is shared between processes: each process protects its own event loop.
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { evaluateMetered, splitRuleLines, type CompiledPolicy, type PolicyResponse, type RuleSetTrace } from "../../engine/index.js";
import { DomainError, DomainErrorCode } from "../../errors/domain-error.js";
import { FlowError, type FlowDefinition } from "../../engine/flow/index.js";
import type { DecodedRunRequest, EvaluationOutcome, EvaluationTask, ParsedBody, ParsedFlow, ParsedGraphqlBody, RunRequestTask } from "./evaluation-worker.js";
import { LargeData } from "./large-data.js";
import { tooDeepJson } from "../../shared/opaque-json.js";
import { sharedCopy, utf8Text } from "./shared-bytes.js";
import { type SpanHandle, telemetry } from "../../telemetry/tracing.js";

/** Steps an evaluation may take in line: about 1 ms at the engine's calibrated cost (src/engine/costs.ts). */
export const SLICE_STEPS = 20_000;
/** Answer bytes an evaluation may build in line: serialising more would block the event loop noticeably. */
export const SLICE_ANSWER_BYTES = 256 * 1024;
const MAX_QUEUED_PER_TENANT = 64;
/**
 * The workers' entry file, beside this module's file. From TypeScript (tsx, vitest) that is evaluation-worker.mjs,
 * which registers tsx in the worker first; in the production build (`npm run build`, bundled into dist/ with its
 * chunks) it is the compiled entry dist/evaluation-worker.js.
 */
const WORKER_ENTRY = new URL(import.meta.url.endsWith(".ts") ? "./evaluation-worker.mjs" : "./evaluation-worker.js", import.meta.url);
/** The setting named by the deadline error. */
export const DEADLINE_SETTING = "EVALUATION_DEADLINE_MS";

export interface EvaluatorOptions {
  /** Worker threads; default: all cores but one (at least one), so the event loop keeps a core. */
  workers?: number;
  /** Per-evaluation deadline, checked cooperatively by the engine (EVALUATION_DEADLINE_MS). */
  deadlineMs?: number;
}

export interface Evaluated {
  response: PolicyResponse;
  engineNs: bigint;
  steps: number;
  answerBytes: number;
}

/** A large request body as the pool parsed it (parseBody): `data` is a LargeData when it is an object. */
export type LargeBody = { malformed: true } | { skeleton: unknown; data?: LargeData | "nested too deeply" };

/** A large GraphQL body as the pool parsed it (parseGraphqlBody): the runs' `data` variables are LargeData. */
export type LargeGraphqlBody = { malformed: true } | { body: unknown };

/**
 * A large gRPC request as the pool decoded it (decodeRunRequest): `data` is a LargeData with its Struct encoded for the
 * echo, or unset, or refused with this message.
 */
export type LargeRunRequest =
  | { undecodable: string }
  | { fields: Record<string, unknown>; data: null | { invalid: string } | { value: LargeData; echo: Uint8Array } };

export interface EvaluationLimits {
  maxSteps?: number;
  maxAnswerBytes?: number;
}

/** Work waiting for a worker: an evaluation, or the parse of a long flow text. */
interface Job {
  start(): Promise<void>;
}

/** The pool's task for an evaluation, made only when the pool is used (most evaluations end inline). */
const poolTask = (compiled: CompiledPolicy, now: Date, limits: EvaluationLimits, deadline: { ms: number; setting: string }): EvaluationTask => ({
  text: compiled.text,
  dataJson: "",
  nowMs: now.getTime(),
  ...limits,
  deadline,
});

// Answers computed by a worker keep their trace as JSON text (UTF-8 bytes when long); the REST shim writes it as it is (rawTraceJson).
// Keyed by the response's `trace` getter, which copies of the response keep (a flow's node responses: engine/flow/run.ts).
const rawTraces = new WeakMap<() => unknown, string | Uint8Array>();

// JSON texts of data objects already serialised, so a request's data is written at most once: for the worker
// pool and for the REST answer's echo, and once for all the nodes of a flow that run on the same data.
const jsonTexts = new WeakMap<object, string>();

/**
 * `JSON.stringify(value)`, remembered for objects (which the gateway never changes after parsing a request). A
 * RangeError for data nested too deeply for V8's stack is left to the caller.
 */
export function jsonText(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  let text = jsonTexts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    jsonTexts.set(value, text);
  }
  return text;
}

/**
 * The trace of `response` as JSON text (or its UTF-8 bytes) when a worker produced it, so it need not be parsed and
 * serialised again.
 */
export function rawTraceJson(response: PolicyResponse): string | Uint8Array | undefined {
  const getter = Object.getOwnPropertyDescriptor(response, "trace")?.get;
  return getter === undefined ? undefined : rawTraces.get(getter);
}

function fromWorker(outcome: EvaluationOutcome, lines: string[], data: unknown): PolicyResponse {
  let trace: RuleSetTrace | null | undefined;
  const response: PolicyResponse = {
    result: outcome.result,
    // Parsed on first use only (GraphQL); the REST shim uses the text.
    get trace(): RuleSetTrace | null {
      const json = outcome.traceJson;
      return (trace ??= JSON.parse(typeof json === "string" ? json : utf8Text(json)) as RuleSetTrace | null);
    },
    rule: lines,
    data,
    error: outcome.error,
    labels: outcome.labels,
  };
  rawTraces.set(Object.getOwnPropertyDescriptor(response, "trace")!.get!, outcome.traceJson);
  return response;
}

export class Evaluator {
  // Tasks of two kinds (evaluation-worker.ts): evaluations (the default export) and flow parses (parseFlowTask).
  private readonly pool: Piscina<
    EvaluationTask | string | Uint8Array | RunRequestTask,
    EvaluationOutcome | ParsedFlow | ParsedBody | ParsedGraphqlBody | DecodedRunRequest
  >;
  private readonly workers: number;
  readonly deadlineMs: number;
  /** Waiting jobs by tenant; the Map's order is the round-robin order (a served tenant moves to the back). */
  private readonly queues = new Map<string, Job[]>();
  private running = 0;
  /** Seconds spent evaluating, by tenant, since the process started (exported by /metrics). */
  readonly secondsByTenant = new Map<string, number>();

  constructor(options: EvaluatorOptions = {}) {
    this.workers = options.workers ?? Math.max(1, availableParallelism() - 1);
    this.deadlineMs = options.deadlineMs ?? 100;
    this.pool = new Piscina({
      filename: WORKER_ENTRY.href,
      // Started on the first expensive evaluation, not with the process: most processes (and tests) never need one.
      minThreads: 0,
      maxThreads: this.workers,
      // Workers start clean and register TypeScript support themselves (evaluation-worker.mjs).
      execArgv: [],
      // Lower priority than the event loop's thread: on a busy machine the OS serves requests first.
      niceIncrement: 5,
      idleTimeout: 300_000,
    });
  }

  /** Evaluates `compiled` for `tenantId`: in line when cheap, else in the pool (see the file comment). */
  evaluate(tenantId: string, compiled: CompiledPolicy, data: unknown, now: Date, limits: EvaluationLimits = {}): Promise<Evaluated> {
    const tracing = telemetry.tracing;
    if (!tracing) return this.evaluateNow(tenantId, compiled, data, now, limits);
    return tracing.inSpan("verdict.evaluate", undefined, (span) => measured(span, this.evaluateNow(tenantId, compiled, data, now, limits)));
  }

  private async evaluateNow(tenantId: string, compiled: CompiledPolicy, data: unknown, now: Date, limits: EvaluationLimits): Promise<Evaluated> {
    const deadline = { ms: this.deadlineMs, setting: DEADLINE_SETTING };
    // Large data is never parsed here (large-data.ts): straight to the pool, whatever the policy.
    if (data instanceof LargeData) return this.inPool(tenantId, poolTask(compiled, now, limits, deadline), compiled.lines, data, 0n);
    const started = process.hrtime.bigint();
    const inline = evaluateMetered(compiled, data, {
      now,
      ...limits,
      deadline,
      sliceSteps: SLICE_STEPS,
      sliceAnswerBytes: SLICE_ANSWER_BYTES,
    });
    const inlineNs = process.hrtime.bigint() - started;
    if (!inline.sliced) {
      this.account(tenantId, inlineNs);
      return { response: inline.response, engineNs: inlineNs, steps: inline.steps, answerBytes: inline.answerBytes };
    }
    return this.inPool(tenantId, poolTask(compiled, now, limits, deadline), compiled.lines, data, inlineNs);
  }

  /** Runs `task` on `data` in the pool; `spentNs` is what an in-line attempt already took. */
  private async inPool(tenantId: string, task: EvaluationTask, lines: string[], data: unknown, spentNs: bigint): Promise<Evaluated> {
    const outcome = await this.enqueueEvaluation(tenantId, { ...task, dataJson: dataTask(data) });
    const engineNs = spentNs + BigInt(outcome.engineNs);
    this.account(tenantId, engineNs);
    return { response: fromWorker(outcome, lines, data), engineNs, steps: outcome.steps, answerBytes: outcome.answerBytes };
  }

  /**
   * Evaluates a policy text that has not been compiled here: in the pool, where it is compiled too. For large
   * unsaved texts (`runRule`), whose parsing alone would hold the event loop for a noticeable time.
   */
  evaluateText(tenantId: string, text: string, data: unknown, now: Date): Promise<Evaluated> {
    const tracing = telemetry.tracing;
    if (!tracing) return this.evaluateTextNow(tenantId, text, data, now);
    return tracing.inSpan("verdict.evaluate", { "verdict.evaluation.unsaved_text": true }, (span) =>
      measured(span, this.evaluateTextNow(tenantId, text, data, now)),
    );
  }

  private evaluateTextNow(tenantId: string, text: string, data: unknown, now: Date): Promise<Evaluated> {
    const deadline = { ms: this.deadlineMs, setting: DEADLINE_SETTING };
    return this.inPool(tenantId, { text, dataJson: "", nowMs: now.getTime(), deadline }, splitRuleLines(text), data, 0n);
  }

  /**
   * Parses a flow definition text in the pool, in the tenant's turn: YAML parsing runs at a few hundred kilobytes a
   * second, and its work is bounded by YAML_LIMITS but not small. A FlowError comes back as the same FlowError.
   */
  async parseFlowText(tenantId: string, text: string): Promise<FlowDefinition> {
    const parsed = await this.enqueue<ParsedFlow>(tenantId, () => this.pool.run(text, { name: "parseFlowTask" }) as Promise<ParsedFlow>);
    if ("error" in parsed) throw new FlowError(parsed.error.code, parsed.error.message, parsed.error.details);
    return parsed.definition;
  }

  /**
   * Parses a large request body in the pool, in the tenant's turn (large-data.ts): the event loop gets the members
   * to validate and, for a `data` object, a LargeData instead of the value.
   */
  async parseBody(tenantId: string, body: Uint8Array): Promise<LargeBody> {
    // Read into shared memory already when its length was declared (src/rest/body.ts); else copied once.
    const shared = body.buffer instanceof SharedArrayBuffer ? body : sharedCopy(body);
    const parsed = await this.enqueue<ParsedBody>(tenantId, () => this.pool.run(shared, { name: "parseBodyTask" }) as Promise<ParsedBody>);
    this.bodiesParsed++;
    if ("malformed" in parsed || parsed.data === undefined || typeof parsed.data === "string") return parsed as LargeBody;
    return { skeleton: parsed.skeleton, data: new LargeData(parsed.data.json, parsed.data.estimatedBytes) };
  }

  /**
   * Parses a large GraphQL request body in the pool, in the turn of `queue` (the tenant, or the address of a caller
   * without credentials): variables that feed only runs' `data` come back as LargeData (src/server/large-graphql-body.ts).
   */
  async parseGraphqlBody(queue: string, body: Uint8Array): Promise<LargeGraphqlBody> {
    const shared = body.buffer instanceof SharedArrayBuffer ? body : sharedCopy(body);
    const parsed = await this.enqueue<ParsedGraphqlBody>(queue, () => this.pool.run(shared, { name: "parseGraphqlBodyTask" }) as Promise<ParsedGraphqlBody>);
    this.bodiesParsed++;
    if ("malformed" in parsed) return parsed;
    const { body: value, large } = parsed;
    const variables = (value as { variables?: Record<string, unknown> }).variables;
    for (const [name, data] of Object.entries(large)) {
      variables![name] = "tooDeep" in data ? tooDeepJson(data.tooDeep as object) : new LargeData(data.json, data.estimatedBytes);
    }
    return { body: value };
  }

  /**
   * Decodes a large gRPC request message in the pool, in the tenant's turn (src/grpc/server.ts): protobuf decoding, the
   * Struct's conversion to JSON and its encoding for the echo all happen in a worker. `task.bytes` should be in shared
   * memory (else copied once).
   */
  async decodeRunRequest(tenantId: string, task: RunRequestTask): Promise<LargeRunRequest> {
    const bytes = task.bytes.buffer instanceof SharedArrayBuffer ? task.bytes : sharedCopy(task.bytes);
    const decoded = await this.enqueue<DecodedRunRequest>(
      tenantId,
      () => this.pool.run({ ...task, bytes }, { name: "decodeRunRequestTask" }) as Promise<DecodedRunRequest>,
    );
    this.bodiesParsed++;
    if ("undecodable" in decoded) return decoded;
    const { fields, data } = decoded;
    if (data === null || "invalid" in data) return { fields, data };
    return { fields, data: { value: new LargeData(data.json, data.estimatedBytes), echo: data.echo } };
  }

  /** Large bodies parsed by the pool since the process started (the tests read it). */
  bodiesParsed = 0;

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private account(tenantId: string, ns: bigint): void {
    this.secondsByTenant.set(tenantId, (this.secondsByTenant.get(tenantId) ?? 0) + Number(ns) / 1e9);
  }

  private enqueueEvaluation(tenantId: string, task: EvaluationTask): Promise<EvaluationOutcome> {
    return this.enqueue(tenantId, async () => {
      // The engine stops itself at the deadline; terminating the worker is the last resort if it somehow does not.
      const signal = AbortSignal.timeout(Math.max(1_000, this.deadlineMs * 10));
      try {
        return (await this.pool.run(task, { signal })) as EvaluationOutcome;
      } catch (error) {
        if (signal.aborted) return deadlineOutcome(this.deadlineMs, task);
        throw error;
      }
    });
  }

  private enqueue<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(tenantId);
    if (queue === undefined) this.queues.set(tenantId, (queue = []));
    if (queue.length >= MAX_QUEUED_PER_TENANT) {
      return Promise.reject(
        new DomainError(DomainErrorCode.RateLimited, "Too many expensive evaluations of this tenant are waiting; retry shortly", {
          retryAfterSeconds: 1,
        }),
      );
    }
    const waiting = queue;
    const done = new Promise<T>((resolve, reject) => waiting.push({ start: () => work().then(resolve, reject) }));
    this.dispatch();
    return done;
  }

  /** Hands waiting jobs to free workers, one tenant after another. */
  private dispatch(): void {
    while (this.running < this.workers) {
      const next = this.queues.entries().next();
      if (next.done) return;
      const [tenantId, queue] = next.value;
      const job = queue.shift() as Job;
      this.queues.delete(tenantId);
      if (queue.length > 0) this.queues.set(tenantId, queue); // to the back of the round
      this.running++;
      job.start().finally(() => {
        this.running--;
        this.dispatch();
      });
    }
  }
}

/** The data of a task: large data as its shared bytes, anything else as JSON text (remembered per object). */
const dataTask = (data: unknown): EvaluationTask["dataJson"] => (data instanceof LargeData ? { id: data.id, json: data.json } : jsonText(data));

function deadlineOutcome(deadlineMs: number, task: EvaluationTask): EvaluationOutcome {
  return {
    result: false,
    error: `Evaluation error: evaluation exceeded its deadline of ${deadlineMs} ms (${task.deadline.setting})`,
    traceJson: JSON.stringify({ execution: [] }),
    labels: null,
    steps: 0,
    answerBytes: 0,
    engineNs: deadlineMs * 10 * 1e6,
  };
}

/** What an evaluation's span tells: the steps it took and whether the rule set answered or failed. */
async function measured(span: SpanHandle, evaluation: Promise<Evaluated>): Promise<Evaluated> {
  const evaluated = await evaluation;
  span.setAttribute("verdict.evaluation.steps", evaluated.steps);
  span.setAttribute("verdict.evaluation.engine_ms", Number(evaluated.engineNs) / 1e6);
  // A rule that does not evaluate is an answer (a 400 with its message), not a failed span.
  span.setAttribute("verdict.evaluation.failed", evaluated.response.error !== null);
  return evaluated;
}

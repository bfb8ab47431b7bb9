import type { z } from "zod";
import { type FlowError, invalidJsonBodyError } from "../engine/flow/index.js";
import { DomainError, DomainErrorCode, retryAfterOf } from "../errors/domain-error.js";
import { httpStatusFor } from "../errors/transport-codes.js";
import { httpErrorFor } from "../http/error-body.js";
import { jsonText, rawTraceJson } from "../modules/execution/evaluator.js";
import { LargeData } from "../modules/execution/large-data.js";
import { FlowRunError } from "../modules/execution/execution.service.js";
import { policyExecutionTimings, type FlowRun, type PolicyExecutionTimings, type PolicyRun, type RanRecord } from "../modules/execution/run-result.js";
import type { PolicyResponse } from "../engine/index.js";
import type { NodeExecution } from "../engine/flow/index.js";
import { BodyError } from "./body.js";
import type { ErrorBodyShape, FlowErrorBodyShape } from "./schemas.js";

/** Which wire format a route's failures take: docs/language.md#the-response (`{code, message}`) or #flow-errors (`+ details`). */
export type RouteFamily = "policy" | "flow";

/** A request body that does not match its schema (400 VALIDATION_ERROR). */
export class RequestValidationError extends Error {
  override name = "RequestValidationError";
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly all: string,
  ) {
    super(all);
  }
}

export function validationErrorFor(error: z.ZodError): RequestValidationError {
  const describe = (issue: z.core.$ZodIssue) => {
    const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "body";
    return { field, problem: issue.message };
  };
  const issues = error.issues.map(describe);
  const first = issues[0] ?? { field: "body", problem: "is invalid" };
  const all = issues.map(({ field, problem }) => (field === "body" ? `The request body ${problem}` : `'${field}' ${problem}`)).join("; ");
  return new RequestValidationError(first.field, first.problem, all);
}

/**
 * The JSON text of an answer. Only the echoed input can be too deep to serialise (the engine reads 100 levels); a
 * RangeError for any other reason (a string too long for V8) is not the client's nesting and is not reported as such.
 */
export function serialize(body: unknown): string {
  try {
    return jsonText(body);
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new RequestValidationError("data", "is nested too deeply", "'data' is nested too deeply");
    }
    throw error;
  }
}

/** A trace as JSON text: the worker's text (or UTF-8 bytes) when the evaluation ran in the pool, else serialised here. */
function traceJson(response: PolicyResponse): string | Uint8Array {
  return rawTraceJson(response) ?? JSON.stringify(response.trace);
}

/**
 * An answer's body: its JSON text, or, when it carries bytes made in the worker pool (a large body's data, a long
 * trace: src/modules/execution/large-data.ts), its pieces in order, so that the event loop encodes only the short texts.
 */
export type AnswerBody = string | (string | Uint8Array)[];

/** The pieces as one text when they are all texts (the ordinary answer), else the pieces. */
const bodyOf = (pieces: (string | Uint8Array)[]): AnswerBody => (pieces.every((piece) => typeof piece === "string") ? pieces.join("") : pieces);

/** The echo of a run's data: a large body's bytes as the pool wrote them, else the exact text or the data serialised. */
function dataEcho(data: unknown, exactDataJson: string | undefined): string | Uint8Array {
  if (data instanceof LargeData) return data.json;
  return (data != null ? exactDataJson : undefined) ?? serialize(data) ?? "null";
}

/** The headers naming which stored record ran (src/rest/README.md); old clients ignore them. None for unsaved runs. */
export const RECORD_ID_HEADER = "x-verdict-record-id";
export const VERSION_HEADER = "x-verdict-version";

export function ranRecordHeaders(record: RanRecord | null): string[] {
  if (record === null) return [];
  // A draft has no version number: the header is absent rather than empty.
  return record.versionNumber === null
    ? [RECORD_ID_HEADER, record.recordId]
    : [RECORD_ID_HEADER, record.recordId, VERSION_HEADER, String(record.versionNumber)];
}

const ZERO_NODE_EXECUTION: NodeExecution = Object.freeze({ database: "0", engine: "0", total: "0" });

// A policy's `rule` lines are the compiled policy's own frozen array, the same object for every run of it.
const ruleJson = new WeakMap<readonly string[], string>();

/**
 * The body of a policy answer (docs/language.md#the-response), members in that order, up to the value of its last
 * member, `execution`: the timings are known only once the run's audit event is committed, everything before them as
 * soon as the policy is evaluated (ExecutionService.runPolicy's `prepare`), so it is written while the event commits.
 * Written out member by member so that the rule lines (a kilobyte or more for a real policy) are serialised once per
 * compiled policy, not per run, and so that a trace computed in the worker pool is written as the text it arrived as:
 * reading `response.trace` would parse megabytes on the event loop only to serialise them again.
 * `exactDataJson` replaces the echo of `data` when a number in it would not survive a double (exact-numbers.ts).
 */
export function policyAnswerBeforeTimings(response: PolicyResponse, exactDataJson?: string): AnswerBody {
  const trace = traceJson(response);
  const data = dataEcho(response.data, exactDataJson);
  const head = `{"result":${response.result},"trace":`;
  const middle = `,"rule":${ruleText(response.rule)},"data":`;
  const tail = `,"error":${JSON.stringify(response.error)},"labels":${JSON.stringify(response.labels)},"execution":`;
  // The ordinary answer is one text, made without the array of pieces (the run path's hottest allocation site).
  if (typeof trace === "string" && typeof data === "string") return head + trace + middle + data + tail;
  return [head, trace, middle, data, tail];
}

/** The whole body of a policy answer: `beforeTimings` (policyAnswerBeforeTimings of its response), then its timings. */
export function policyResponseBody(run: PolicyRun, requestStartedAt: bigint, beforeTimings: AnswerBody): AnswerBody {
  const execution: PolicyExecutionTimings = policyExecutionTimings(run.timings, requestStartedAt);
  const end = `${JSON.stringify(execution)}}`;
  return typeof beforeTimings === "string" ? beforeTimings + end : [...beforeTimings, end];
}

/** A policy's rule lines as JSON, made once per compiled policy. */
function ruleText(rule: readonly string[]): string {
  let text = ruleJson.get(rule);
  if (text === undefined) ruleJson.set(rule, (text = JSON.stringify(rule)));
  return text;
}

/**
 * The body of a flow answer (docs/language.md#flow-response), written node by node: traces computed in the worker pool are
 * used as text, and the data every node echoes is serialised once. Its size was bounded while the flow ran
 * (maxFlowResponseBytes), so this never builds an unbounded string. Every node gets the request's data
 * (docs/language.md#flow-execution), so `exactDataJson`, when given, is every node's echo (exact-numbers.ts).
 */
export function flowResponseBody(run: FlowRun, exactDataJson?: string): AnswerBody {
  const { response } = run;
  const pieces: (string | Uint8Array)[] = [`{"result":${serialize(response.result ?? null)},"nodeResponse":[`];
  for (const [index, node] of response.nodeResponse.entries()) {
    const r = node.response;
    pieces.push(
      `${index === 0 ? "" : ","}{"nodeId":${JSON.stringify(node.nodeId)},"nodeType":${JSON.stringify(node.nodeType)},"response":{"result":${JSON.stringify(r.result)},"trace":`,
      traceJson(r),
      `,"rule":${ruleText(r.rule)},"data":`,
      // serialize remembers each data object's text: the data every node echoes is serialised once.
      dataEcho(r.data, exactDataJson),
      `,"error":${JSON.stringify(r.error)},"labels":${JSON.stringify(r.labels)}},"execution":${JSON.stringify(node.execution ?? ZERO_NODE_EXECUTION)}}`,
    );
  }
  pieces.push(`],"execution":${JSON.stringify(response.execution)}}`);
  return bodyOf(pieces);
}

export interface ErrorResponse {
  status: number;
  body: ErrorBodyShape | FlowErrorBodyShape;
  retryAfterSeconds?: number;
}

const flowErrorResponse = (error: FlowError): ErrorResponse => ({
  status: error.code === "POLICY_NOT_FOUND" || error.code === "FLOW_NOT_FOUND" ? 404 : 400,
  body: { code: error.code, message: error.message, details: error.details },
});

/** Every failure of a REST execution route as its status and body (src/rest/README.md, docs/language.md#the-response, #flow-errors). */
export function restErrorFor(error: unknown, family: RouteFamily): ErrorResponse {
  if (error instanceof FlowRunError) return flowErrorResponse(error.flowError);
  if (error instanceof RequestValidationError) {
    if (family === "flow") {
      return {
        status: 400,
        body: { code: "VALIDATION_ERROR", message: `validation error on field '${error.field}': ${error.problem}`, details: { field: error.field } },
      };
    }
    return { status: 400, body: { code: "VALIDATION_ERROR", message: error.all } };
  }
  if (error instanceof BodyError) {
    switch (error.reason) {
      case "too-large":
        return { status: 413, body: { code: "PAYLOAD_TOO_LARGE", message: error.message } };
      case "compressed":
        return { status: 415, body: { code: "UNSUPPORTED_MEDIA_TYPE", message: error.message } };
      case "aborted":
        return { status: 400, body: { code: "VALIDATION_ERROR", message: error.message } };
      case "malformed-json":
        if (family === "flow") return flowErrorResponse(invalidJsonBodyError());
        return { status: 400, body: { code: "VALIDATION_ERROR", message: error.message } };
    }
  }
  if (error instanceof DomainError && error.code === DomainErrorCode.RateLimited) {
    return { status: httpStatusFor(error.code), body: { code: error.code, message: error.message }, retryAfterSeconds: retryAfterOf(error) };
  }
  // Other refusals that say when to retry (a tenant being moved: 503) keep their body and gain the header.
  const retryAfterSeconds = error instanceof DomainError ? retryAfterOf(error) : undefined;
  const response = httpErrorFor(error);
  return retryAfterSeconds === undefined ? response : { ...response, retryAfterSeconds };
}

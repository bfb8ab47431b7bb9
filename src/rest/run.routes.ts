import type { IncomingMessage, ServerResponse } from "node:http";
import FindMyWay from "find-my-way";
import type { z } from "zod";
import type { Config } from "../config.js";
import { discardBody } from "../http/lingering-close.js";
import { logRequestFinished, requestIdOf } from "../http/request-context.js";
import type { Metrics } from "../http/metrics.js";
import { authenticateExecutionClient, clientAddressOf, type RateLimiter } from "../http/rate-limit.js";
import type { TenantActor } from "../identity/actor.js";
import type { Logger } from "../logging.js";
import { storedFlow } from "../modules/execution/stored-flow.js";
import type { FlowRun, PolicyRun } from "../modules/execution/run-result.js";
import type { PolicyResponse } from "../engine/index.js";
import type { Services } from "../services.js";
import type { RequestRouter } from "../tenancy/tenant-routing.js";
import { endInSlices, WRITE_SLICE_BYTES } from "./sliced-write.js";
import { jsonBodyOf, type LargeBodies, malformedJson, readBody } from "./body.js";
import type { LargeBody } from "../modules/execution/evaluator.js";
import { LargeData } from "../modules/execution/large-data.js";
import { exactDataJson } from "../shared/exact-numbers.js";
import { asBuffer, SharedBuffers } from "../modules/execution/shared-bytes.js";
import { telemetry } from "../telemetry/tracing.js";
import {
  type AnswerBody,
  flowResponseBody,
  policyAnswerBeforeTimings,
  policyResponseBody,
  ranRecordHeaders,
  RequestValidationError,
  restErrorFor,
  validationErrorFor,
  type RouteFamily,
} from "./responses.js";
import { FlowTestRequest, RunDataRequest, RunRuleRequest } from "./schemas.js";

export interface RestDependencies {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** Authenticates a key in its tenant's database and hands back the services that serve that tenant. */
  router: RequestRouter;
  /** Counts requests without a valid key, by client address (a key's allowance lives in its tenant's database). */
  rateLimiter: RateLimiter;
}

export interface RestRoutes {
  /**
   * Answers the request when it is one of the shim's execution routes; otherwise calls `next` (the express
   * app, which also serves the shim's `/openapi.json`).
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}

/** What a route needs of its request, once the key is authenticated. */
interface Call {
  actor: TenantActor;
  /** The graph of the database that serves the actor's tenant. */
  execution: Services["execution"];
  params: Record<string, string | undefined>;
  req: IncomingMessage;
}

/**
 * A route answers with a status, a JSON text and headers (name, value, name, value…); failures are thrown and
 * shaped by restErrorFor.
 */
type Answer = { status: number; json: AnswerBody; headers: readonly string[] };

/**
 * Bodies over this many bytes are parsed in the worker pool, not here (src/modules/execution/large-data.ts): parsing
 * 64 KiB costs the event loop up to a few milliseconds (wide objects), a megabyte 3–40 ms, and serialising its echo
 * as much again. Ordinary requests are far smaller and stay on the inline path, where a round trip to the pool
 * would cost more than the parse.
 */
export const LARGE_BODY_BYTES = 64 * 1024;

/** A validated body; a large one's `data` is the LargeData the pool made of it (never parsed here). */
interface RunBody<T> {
  input: T;
  /** The echo of `data` with the client's digits, when a number in a small body would not survive a double. */
  exactData: string | undefined;
}
const NO_HEADERS: readonly string[] = [];
const CONNECTION_CLOSE: readonly string[] = ["connection", "close"];

/** An answer's headers (name, value, name, value…) for writeHead. */
const headersOf = (length: number, requestId: string, extra: readonly string[], closing: readonly string[]): string[] => {
  const headers = ["content-type", "application/json; charset=utf-8", "content-length", String(length), "x-request-id", requestId];
  for (const header of extra) headers.push(header);
  for (const header of closing) headers.push(header);
  return headers;
};

type RoutedRelease = () => void;
type Route = { pattern: string; family: RouteFamily; answer: (call: Call, started: bigint) => Promise<Answer> };

/**
 * The REST compatibility shim (src/rest/README.md): the execution routes existing clients call with an
 * `x-api-key`. Each route only validates its body, calls the ExecutionService that GraphQL uses (which does
 * authorization, resolution, visibility and auditing) and shapes the answer in the old wire format.
 *
 * Order per request: authenticate the key (no body is read for an unauthenticated caller), count the request
 * against the key's rate limit (or the client IP's, when the key is missing or invalid), read and validate the
 * JSON body, run.
 *
 * These routes are served from the HTTP server directly (find-my-way for routing) rather than through
 * express: they carry the execution traffic, and express's router, body parser and per-response listeners
 * cost more CPU per run than authentication, evaluation and the audit write together.
 */
export function restRoutes(deps: RestDependencies): RestRoutes {
  const { config, logger, metrics } = deps;
  const router = FindMyWay({ ignoreTrailingSlash: true });

  const largeBodies: LargeBodies = { over: LARGE_BODY_BYTES, buffers: new SharedBuffers(config.BODY_LIMIT_BYTES) };

  const parse = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => {
    const parsed = schema.safeParse(body === undefined ? {} : body);
    if (!parsed.success) throw validationErrorFor(parsed.error);
    return parsed.data;
  };

  /**
   * Reads and validates a run's body: a small one parsed here, a large one in the worker pool in the tenant's turn,
   * validated here from the members the pool sends back (the schemas judge only presence and type) and run on a
   * LargeData, which the execution service sends to the pool and this shim echoes as bytes.
   */
  const readRunBody = async <S extends z.ZodType>(schema: S, call: Call): Promise<RunBody<z.output<S>>> => {
    const bytes = await readBody(call.req, config.BODY_LIMIT_BYTES, largeBodies);
    if (bytes === undefined || bytes.length <= LARGE_BODY_BYTES) {
      const body = jsonBodyOf(bytes);
      return { input: parse(schema, body.value), exactData: exactDataJson(body.text) };
    }
    let large: LargeBody;
    try {
      large = await call.execution.parseLargeBody(call.actor, bytes);
    } finally {
      largeBodies.buffers.give(bytes);
    }
    if ("malformed" in large) throw malformedJson();
    const input = parse(schema, large.skeleton) as z.output<S> & { data: unknown };
    if (large.data === "nested too deeply") throw new RequestValidationError("data", "is nested too deeply", "'data' is nested too deeply");
    return { input: large.data instanceof LargeData ? { ...input, data: large.data } : input, exactData: undefined };
  };

  const policyRoute = <S extends z.ZodType>(
    pattern: string,
    schema: S,
    run: (
      execution: Call["execution"],
      actor: TenantActor,
      body: z.output<S>,
      params: Call["params"],
      arrivedAt: bigint,
      prepare: (response: PolicyResponse) => AnswerBody,
    ) => Promise<PolicyRun & { prepared?: AnswerBody }>,
  ): Route => ({
    pattern,
    family: "policy",
    async answer(call, started) {
      const { actor, execution, params } = call;
      const body = await readRunBody(schema, call);
      // A stored policy's run writes the answer while its event commits (ExecutionService.runPolicy): only the timings after.
      const prepare = (response: PolicyResponse) => policyAnswerBeforeTimings(response, body.exactData);
      const outcome = await run(execution, actor, body.input, params, started, prepare);
      // docs/language.md#errors: a rule that does not parse or evaluate is a 400 with the full response body.
      const json = policyResponseBody(outcome, started, outcome.prepared ?? prepare(outcome.response));
      return { status: outcome.response.error === null ? 200 : 400, json, headers: ranRecordHeaders(outcome.record) };
    },
  });

  const flowRoute = <S extends z.ZodType>(
    pattern: string,
    schema: S,
    run: (execution: Call["execution"], actor: TenantActor, body: z.output<S>, params: Call["params"], arrivedAt: bigint) => Promise<FlowRun>,
  ): Route => ({
    pattern,
    family: "flow",
    async answer(call, started) {
      const { actor, execution, params } = call;
      const body = await readRunBody(schema, call);
      const outcome = await run(execution, actor, body.input, params, started);
      return { status: 200, json: flowResponseBody(outcome, body.exactData), headers: ranRecordHeaders(outcome.record) };
    },
  });

  const routes: Route[] = [
    policyRoute("/run", RunRuleRequest, (execution, actor, body) => execution.runRule(actor, body.rule, body.data)),
    policyRoute("/run/policy/:baseId", RunDataRequest, (execution, actor, body, params, arrivedAt, prepare) =>
      execution.runPolicy(actor, { by: "base", id: params.baseId ?? "" }, body.data, null, arrivedAt, prepare),
    ),
    policyRoute("/run/policy_version/:policyId", RunDataRequest, (execution, actor, body, params, arrivedAt, prepare) =>
      execution.runPolicy(actor, { by: "record", id: params.policyId ?? "" }, body.data, null, arrivedAt, prepare),
    ),
    flowRoute("/run/flow/:baseId", RunDataRequest, (execution, actor, body, params, arrivedAt) =>
      storedFlow(params.baseId ?? "", (id) => execution.runFlow(actor, { by: "base", id }, body.data, null, arrivedAt)),
    ),
    flowRoute("/run/flow_version/:flowId", RunDataRequest, (execution, actor, body, params, arrivedAt) =>
      storedFlow(params.flowId ?? "", (id) => execution.runFlow(actor, { by: "record", id }, body.data, null, arrivedAt)),
    ),
    flowRoute("/flow/test", FlowTestRequest, (execution, actor, body) => execution.testFlow(actor, body.flow, body.data)),
  ];

  // `started` is when the request arrived: every cache the request consults shares one catch-up since then.
  const authenticate = (req: IncomingMessage, started: bigint) =>
    authenticateExecutionClient(deps.rateLimiter, config, deps.router, req.headers["x-api-key"], () => clientAddressOf(req), started);

  /**
   * Sends an answer, once the body was read whole (401, 413, … answered before that are heard by the client only once
   * it has sent the rest). Made once, taking the request as arguments, rather than as closures per request: under tsx
   * (the start command and the benchmarks) each named closure also costs a defineProperty of its name per request.
   */
  const reply = (req: IncomingMessage, res: ServerResponse, route: Route, requestId: string, started: bigint, answer: Answer): void => {
    if (req.complete) send(req, res, route, requestId, started, answer);
    else void discardBody(req).then(() => send(req, res, route, requestId, started, answer));
  };

  const send = (req: IncomingMessage, res: ServerResponse, route: Route, requestId: string, started: bigint, answer: Answer): void => {
    const { status, json: text } = answer;
    const closing = req.complete ? NO_HEADERS : CONNECTION_CLOSE;
    // The ordinary answer (a text of a few KB) is written as the text: node joins it to the head and encodes both as one
    // piece, where a Buffer would be allocated and encoded here first and then written beside the head.
    const length = typeof text === "string" && text.length <= WRITE_SLICE_BYTES ? Buffer.byteLength(text) : Number.POSITIVE_INFINITY;
    if (length <= WRITE_SLICE_BYTES) {
      res.writeHead(status, headersOf(length, requestId, answer.headers, closing));
      res.end(text as string);
    } else {
      // A large body leaves the gateway in slices (sliced-write.ts); a body that was not read whole closes the
      // connection. Encoded once: measuring a long string's UTF-8 length and then writing it would flatten and scan
      // megabytes twice. An answer in pieces carries bytes made in the pool (large data, long traces): only its short
      // texts are encoded here.
      const pieces = typeof text === "string" ? [Buffer.from(text)] : text.map((piece) => (typeof piece === "string" ? Buffer.from(piece) : asBuffer(piece)));
      res.writeHead(
        status,
        headersOf(
          pieces.reduce((sum, piece) => sum + piece.length, 0),
          requestId,
          answer.headers,
          closing,
        ),
      );
      endInSlices(res, pieces);
    }
    metrics.observeRequest("POST", route.pattern, status, started);
    logRequestFinished(logger, requestId, "POST", req.url ?? route.pattern, status, started);
  };

  const failed = (error: unknown, req: IncomingMessage, res: ServerResponse, route: Route, requestId: string, started: bigint): void => {
    if (res.headersSent) return; // the client went away mid-answer: nothing more to say
    const failure = restErrorFor(error, route.family);
    if (failure.status >= 500 && failure.status !== 503) logger.error({ err: error, requestId }, "request failed");
    const headers = failure.retryAfterSeconds === undefined ? NO_HEADERS : ["retry-after", String(failure.retryAfterSeconds)];
    reply(req, res, route, requestId, started, { status: failure.status, json: JSON.stringify(failure.body), headers });
  };

  for (const route of routes) {
    const spanName = `POST ${route.pattern}`;
    const spanAttributes = { "http.route": route.pattern };
    router.on("POST", route.pattern, (req, res, params) => {
      const started = process.hrtime.bigint();
      telemetry.tracing?.nameRequest(spanName, spanAttributes);
      const requestId = requestIdOf(req);
      let release: RoutedRelease | undefined;
      authenticate(req, started)
        .then((routed) => {
          release = routed.release;
          return route.answer({ actor: routed.actor, execution: routed.services.execution, params, req }, started);
        })
        .then((answer) => reply(req, res, route, requestId, started, answer))
        .catch((error: unknown) => failed(error, req, res, route, requestId, started))
        .finally(() => release?.());
    });
  }

  return {
    handle(req, res, next) {
      const found = router.find(req.method as FindMyWay.HTTPMethod, req.url ?? "/");
      if (!found) return next();
      found.handler(req, res, found.params, found.store, found.searchParams);
    },
  };
}

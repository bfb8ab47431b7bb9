import express, { type NextFunction, type Request, type Response, Router } from "express";
import type { z } from "zod";
import type { Config } from "../config.js";
import type { Database } from "../database/database.js";
import { flowNotFoundError } from "../engine/flow/index.js";
import { DomainError, DomainErrorCode, unauthenticated } from "../errors/domain-error.js";
import type { Authenticator } from "../identity/authenticate.js";
import type { Principal } from "../identity/principal.js";
import { FlowRunError } from "../modules/execution/execution.service.js";
import type { FlowRun, PolicyRun } from "../modules/execution/run-result.js";
import type { Services } from "../services.js";
import { openApiDocument } from "./openapi.js";
import { RateLimiter } from "./rate-limit.js";
import {
  flowResponseBody,
  policyResponseBody,
  restErrorFor,
  sendJson,
  validationErrorFor,
  type RouteFamily,
} from "./responses.js";
import { FlowTestRequest, RunDataRequest, RunRuleRequest } from "./schemas.js";

export interface RestDependencies {
  config: Config;
  database: Database;
  services: Services;
  authenticator: Authenticator;
}

export interface RestRoutes {
  router: Router;
  rateLimiter: RateLimiter;
}

interface Locals {
  startedAt: bigint;
  family: RouteFamily;
  principal: Principal;
}

const locals = (res: Response): Locals => res.locals as Locals;

/**
 * The REST compatibility shim (product.md §7): the execution routes existing clients call with an
 * `x-api-key`. Each route only validates its body, calls the ExecutionService that GraphQL uses (which does
 * authorization, resolution, visibility and auditing) and shapes the answer in the old wire format.
 *
 * Order per request: authenticate the key (no body is read for an unauthenticated caller), count the request
 * against the key's rate limit (or the client IP's, when the key is missing or invalid), read and validate the
 * JSON body, run.
 */
export function restRoutes(deps: RestDependencies): RestRoutes {
  const { config, services } = deps;
  const router = Router();
  const rateLimiter = new RateLimiter(deps.database);

  router.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });

  const authenticate = (family: RouteFamily) => async (req: Request, res: Response, next: NextFunction) => {
    res.locals.startedAt = process.hrtime.bigint();
    res.locals.family = family;
    const key = req.headers["x-api-key"];
    let principal: Principal | null;
    try {
      if (typeof key !== "string" || key.trim() === "") throw unauthenticated("An API key is required in the x-api-key header");
      // Only the key counts here: execution clients authenticate with keys (a bearer token is not a key).
      principal = await deps.authenticator.authenticate({ "x-api-key": key });
      if (!principal) throw unauthenticated("An API key is required in the x-api-key header");
    } catch (error) {
      if (error instanceof DomainError && error.code === DomainErrorCode.Unauthenticated) {
        await rateLimiter.enforce(`ip:${req.ip ?? "unknown"}`, config.RATE_LIMIT_PER_IP_PER_MINUTE);
      }
      throw error;
    }
    const limitKey = principal.kind === "apiKey" ? `key:${principal.apiKeyId}` : `user:${principal.userId}`;
    await rateLimiter.enforce(limitKey, config.RATE_LIMIT_PER_MINUTE);
    res.locals.principal = principal;
    next();
  };

  // Any content type is read as JSON: some clients send none, or a form type from their HTTP library's default.
  const jsonBody = express.json({ limit: config.BODY_LIMIT_BYTES, type: () => true, strict: false });

  const parse = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => {
    const parsed = schema.safeParse(body === undefined ? {} : body);
    if (!parsed.success) throw validationErrorFor(parsed.error);
    return parsed.data;
  };

  const policyRoute = <S extends z.ZodType>(schema: S, run: (principal: Principal, body: z.output<S>, req: Request) => PolicyRun | Promise<PolicyRun>) => [
    authenticate("policy"),
    jsonBody,
    async (req: Request, res: Response) => {
      const { principal, startedAt } = locals(res);
      const outcome = await run(principal, parse(schema, req.body), req);
      // dsl.md §11.2: a rule that does not parse or evaluate is a 400 with the full response body.
      sendJson(res, outcome.response.error === null ? 200 : 400, policyResponseBody(outcome, startedAt));
    },
  ];

  const flowRoute = <S extends z.ZodType>(schema: S, run: (principal: Principal, body: z.output<S>, req: Request) => Promise<FlowRun>) => [
    authenticate("flow"),
    jsonBody,
    async (req: Request, res: Response) => {
      const outcome = await run(locals(res).principal, parse(schema, req.body), req);
      sendJson(res, 200, flowResponseBody(outcome));
    },
  ];

  const { execution } = services;
  router.post(
    "/run",
    policyRoute(RunRuleRequest, (principal, body) => execution.runRule(principal, body.rule, body.data)),
  );
  router.post(
    "/run/policy/:baseId",
    policyRoute(RunDataRequest, (principal, body, req) => execution.runPolicy(principal, { by: "base", id: param(req, "baseId") }, body.data)),
  );
  router.post(
    "/run/policy_version/:policyId",
    policyRoute(RunDataRequest, (principal, body, req) =>
      execution.runPolicy(principal, { by: "record", id: param(req, "policyId") }, body.data),
    ),
  );
  router.post(
    "/run/flow/:baseId",
    flowRoute(RunDataRequest, (principal, body, req) =>
      storedFlow(param(req, "baseId"), (id) => execution.runFlow(principal, { by: "base", id }, body.data)),
    ),
  );
  router.post(
    "/run/flow_version/:flowId",
    flowRoute(RunDataRequest, (principal, body, req) =>
      storedFlow(param(req, "flowId"), (id) => execution.runFlow(principal, { by: "record", id }, body.data)),
    ),
  );
  router.post(
    "/flow/test",
    flowRoute(FlowTestRequest, (principal, body) => execution.testFlow(principal, body.flow, body.data)),
  );

  router.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    const family = (res.locals as Partial<Locals>).family;
    if (!family || res.headersSent) return next(error); // not one of these routes, or too late to answer
    const { status, body, retryAfterSeconds } = restErrorFor(error, family);
    if (status >= 500 && status !== 503) req.log.error({ err: error }, "request failed");
    if (retryAfterSeconds !== undefined) res.setHeader("retry-after", String(retryAfterSeconds));
    sendJson(res, status, body);
  });

  return { router, rateLimiter };
}

const param = (req: Request, name: string): string => String(req.params[name] ?? "");

/** A stored flow that does not exist for the caller is FLOW_NOT_FOUND with its ID (dsl.md §12.4). */
async function storedFlow(id: string, run: (id: string) => Promise<FlowRun>): Promise<FlowRun> {
  try {
    return await run(id);
  } catch (error) {
    if (error instanceof DomainError && !(error instanceof FlowRunError) && error.code === DomainErrorCode.NotFound) {
      throw new FlowRunError(flowNotFoundError(id));
    }
    throw error;
  }
}

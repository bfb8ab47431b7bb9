import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../config.js";
import { discardBody } from "../http/lingering-close.js";
import { authenticateAndCount, clientAddressOf, type RateLimiter } from "../http/rate-limit.js";
import type { Evaluator } from "../modules/execution/evaluator.js";
import { SharedBuffers } from "../modules/execution/shared-bytes.js";
import { type LargeBodies, readBody } from "../rest/body.js";
import { LARGE_BODY_BYTES } from "../rest/run.routes.js";
import type { RequestRouter, RoutedRequest } from "../tenancy/tenant-routing.js";

/**
 * Large GraphQL bodies are parsed in the evaluation pool, not on the event loop (issue #11, fair sharing), as REST
 * bodies are (src/rest/README.md, "Large bodies"). Without this, one `runRule` with a megabyte of `data` cost the event
 * loop its JSON.parse, the JSON scalar's walks of the value (depth, exact digits) and its serialisation for the pool:
 * bench:abuse measured ten such requests of one tenant holding the loop for 1.5 s at a time.
 *
 * A POST declaring more than LARGE_BODY_BYTES of `application/json` (UTF-8, not compressed) is taken here, ahead of
 * express.json: the credential is authenticated and counted first (as the REST routes do before reading a body; the
 * GraphQL context then uses this outcome instead of authenticating again), the body is read into shared memory, and a
 * worker parses it in the tenant's turn (a caller without credentials queues by its address). Variables that feed only
 * the `data` argument of a run come back as LargeData (src/modules/execution/large-data.ts): the JSON scalars pass them
 * on unread, the runs evaluate them in the pool, and results echo their text. Everything else in the body is the
 * value express.json would have made. Other bodies take express.json's path, unchanged.
 */

/** What the GraphQL context uses instead of authenticating (earlyAuthentication). */
type Authenticated = { routed: RoutedRequest | null } | { error: unknown };
const authenticated = new WeakMap<IncomingMessage, Authenticated>();

/** The outcome of authenticating a large body's request here, if it was; the context then must not authenticate again. */
export const earlyAuthentication = (req: IncomingMessage): Authenticated | undefined => authenticated.get(req);

export interface LargeGraphqlBodyDependencies {
  config: Config;
  router: RequestRouter;
  rateLimiter: RateLimiter;
  evaluator: Evaluator;
}

export function largeGraphqlBodies(deps: LargeGraphqlBodyDependencies): RequestHandler {
  const { config } = deps;
  const large: LargeBodies = { over: LARGE_BODY_BYTES, buffers: new SharedBuffers(config.BODY_LIMIT_BYTES) };

  const take = async (req: Request, res: Response): Promise<void> => {
    // Cached credentials share one catch-up with announcements per request (as in the GraphQL context).
    const arrivedAt = process.hrtime.bigint();
    let routed: RoutedRequest | null;
    try {
      routed = await authenticateAndCount(
        deps.rateLimiter,
        config,
        () => clientAddressOf(req),
        () => deps.router.route(req.headers, arrivedAt),
      );
    } catch (error) {
      // The context answers with the error, as it would have; the body is not parsed for a caller refused anyway.
      authenticated.set(req, { error });
      await discardBody(req);
      req.body = {};
      return;
    }
    // The tenant's database stays open until the answer has gone.
    if (routed) res.once("close", routed.release);
    const bytes = await readBody(req, config.BODY_LIMIT_BYTES, large);
    let parsed: Awaited<ReturnType<Evaluator["parseGraphqlBody"]>>;
    try {
      parsed = await deps.evaluator.parseGraphqlBody(routed ? routed.actor.tenantId : `address:${clientAddressOf(req)}`, bytes!);
    } catch (error) {
      // The tenant's queue for the pool is full (429): answered by the context, like GraphQL's other refusals.
      authenticated.set(req, { error });
      req.body = {};
      return;
    } finally {
      if (bytes) large.buffers.give(bytes);
    }
    if ("malformed" in parsed) throw malformedJson();
    authenticated.set(req, { routed });
    req.body = parsed.body;
  };

  return (req: Request, res: Response, next: NextFunction) => {
    if (!takes(req)) return next();
    take(req, res).then(() => next(), next);
  };
}

/** A body this path takes: a POST declaring more than LARGE_BODY_BYTES of uncompressed UTF-8 JSON. */
function takes(req: IncomingMessage): boolean {
  if (req.method !== "POST" || !(Number(req.headers["content-length"]) > LARGE_BODY_BYTES)) return false;
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return false;
  const type = /^\s*application\/json\s*(?:;\s*charset\s*=\s*"?([\w-]+)"?\s*)?$/i.exec(req.headers["content-type"] ?? "");
  return type !== null && (type[1] === undefined || type[1].toLowerCase() === "utf-8");
}

/** express.json's refusal of a body that is not JSON, which the app's error handler answers (src/http/error-body.ts). */
const malformedJson = () => Object.assign(new SyntaxError("The request body is not valid JSON"), { status: 400, expose: true, type: "entity.parse.failed" });

import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../logging.js";

declare module "express-serve-static-core" {
  interface Request {
    id: string;
    log: Logger;
  }
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is well-formed, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers["x-request-id"];
  return typeof sent === "string" && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** The one access-log line per request, for express routes and the REST shim alike. */
export function logRequestFinished(logger: Logger, requestId: string, method: string, path: string, status: number, startedAt: bigint): void {
  // Checked first so that a disabled level costs no object per request.
  if (!logger.isLevelEnabled("info")) return;
  logger.info({ requestId, method, path, status, durationMs: Number(process.hrtime.bigint() - startedAt) / 1e6 }, "request finished");
}

/**
 * Gives each request an ID and a logger that carries it, and logs it when it finishes. `requestPrototype` is the
 * app's `app.request`, every request's prototype, where `req.log` is installed once.
 */
export function requestContext(logger: Logger, requestPrototype: object) {
  lazyLogOn(requestPrototype);
  return (req: Request, res: Response, next: NextFunction): void => {
    req.id = requestIdOf(req);
    // The child logger is made when something logs through it (a failed request): a pino child per request cost
    // every request about a microsecond for a logger almost none of them use.
    (req as LazyLog)[BASE_LOGGER] = logger;
    res.setHeader("x-request-id", req.id);
    // The access log's level is fixed at start: with it off, no listener per request.
    if (logger.isLevelEnabled("info")) {
      const started = process.hrtime.bigint();
      res.on("finish", () => logRequestFinished(logger, req.id, req.method, req.baseUrl + req.path, res.statusCode, started));
    }
    next();
  };
}

const BASE_LOGGER = Symbol("the app's logger");
const CHILD = Symbol("the request's logger");

interface LazyLog {
  id: string;
  [BASE_LOGGER]?: Logger;
  [CHILD]?: Logger;
}

/** `req.log` on express's request prototype (the app's `app.request`): a getter making the child on first use. */
function lazyLogOn(prototype: object): void {
  if (Object.hasOwn(prototype, "log")) return;
  Object.defineProperty(prototype, "log", {
    configurable: true,
    get(this: LazyLog) {
      this[CHILD] ??= this[BASE_LOGGER]!.child({ requestId: this.id });
      return this[CHILD];
    },
  });
}

import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../logging.js";

declare module "express-serve-static-core" {
  interface Request {
    id: string;
    log: Logger;
  }
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives each request an ID (the client's `x-request-id` when well-formed) and a logger that carries it. */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const sent = req.header("x-request-id");
    req.id = sent && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
    req.log = logger.child({ requestId: req.id });
    res.setHeader("x-request-id", req.id);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      req.log.info(
        { method: req.method, path: req.baseUrl + req.path, status: res.statusCode, durationMs: Number(process.hrtime.bigint() - started) / 1e6 },
        "request finished",
      );
    });
    next();
  };
}

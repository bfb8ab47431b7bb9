import type { NextFunction, Request, Response } from "express";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics for this process. Route labels are the matched route pattern, never raw paths. */
export class Metrics {
  readonly registry = new Registry();
  private readonly requestDuration = new Histogram({
    name: "verdict_http_request_duration_seconds",
    help: "HTTP request duration",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly graphqlErrors = new Counter({
    name: "verdict_graphql_errors_total",
    help: "GraphQL errors by code",
    labelNames: ["code"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const end = this.requestDuration.startTimer();
      res.on("finish", () => {
        const route = (req.route?.path as string | undefined) ?? (req.baseUrl || "unmatched");
        end({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    };
  }
}

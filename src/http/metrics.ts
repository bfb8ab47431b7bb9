import type { NextFunction, Request, Response } from "express";
import cluster from "node:cluster";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** One base's shadow counters as the database holds them (int8 columns may arrive as text). */
export interface ShadowCounterRow {
  tenantId: string;
  baseId: string;
  agreed: number | string;
  disagreed: number | string;
  errors: number | string;
  dropped: number | string;
}

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
  /** Labelled series by "method route status": looking one up by its labels hashes them on every call. */
  private readonly series = new Map<string, { observe(value: number): void }>();
  readonly graphqlErrors = new Counter({
    name: "verdict_graphql_errors_total",
    help: "GraphQL errors by code",
    labelNames: ["code"],
    registers: [this.registry],
  });

  constructor() {
    // Includes nodejs_eventloop_lag_seconds and its percentiles: how long requests wait for the event loop.
    collectDefaultMetrics({ register: this.registry });
    // With WORKERS > 1 a scrape reaches whichever process accepted its connection: this series says which one.
    new Gauge({
      name: "verdict_process_info",
      help: "The gateway process that answered this scrape (worker 0: not clustered)",
      labelNames: ["worker", "pid"],
      registers: [this.registry],
    }).set({ worker: String(cluster.worker?.id ?? 0), pid: String(process.pid) }, 1);
  }

  /**
   * Exports the time each tenant's policy evaluations took, in line and in the worker pool, so an operator can see
   * who is expensive. Evaluation is CPU-bound (no I/O), so its elapsed time is its CPU time.
   */
  observeEvaluations(source: { readonly secondsByTenant: ReadonlyMap<string, number> }): void {
    new Counter({
      name: "verdict_evaluation_cpu_seconds_total",
      help: "CPU time spent evaluating policies, by tenant",
      labelNames: ["tenant"],
      registers: [this.registry],
      // The totals are kept by the evaluator; each scrape copies them.
      collect() {
        this.reset();
        for (const [tenant, seconds] of source.secondsByTenant) this.labels(tenant).inc(seconds);
      },
    });
  }

  /**
   * Exports each live base's shadow counters (src/modules/replay/README.md) as `verdict_shadow_runs_total{tenant, base, outcome}`,
   * outcome `agreed`, `disagreed`, `error` or `dropped`. They are read from the database at each scrape, so they
   * are totals over every gateway process and every process exports the same values: aggregate them across
   * instances with `max`, not `sum`. A counter starts again from zero when the base's shadow is replaced. When
   * the database cannot be read, the scrape leaves them out rather than failing.
   */
  observeShadows(source: { totals(): Promise<readonly ShadowCounterRow[]> }, onError: (error: unknown) => void): void {
    new Counter({
      name: "verdict_shadow_runs_total",
      help: "Runs of a base compared with its shadow record, by outcome (database totals over all processes)",
      labelNames: ["tenant", "base", "outcome"],
      registers: [this.registry],
      async collect() {
        this.reset();
        let rows: readonly ShadowCounterRow[];
        try {
          rows = await source.totals();
        } catch (error) {
          onError(error);
          return;
        }
        for (const row of rows) {
          const labels = { tenant: row.tenantId, base: row.baseId };
          this.labels({ ...labels, outcome: "agreed" }).inc(Number(row.agreed));
          this.labels({ ...labels, outcome: "disagreed" }).inc(Number(row.disagreed));
          this.labels({ ...labels, outcome: "error" }).inc(Number(row.errors));
          this.labels({ ...labels, outcome: "dropped" }).inc(Number(row.dropped));
        }
      },
    });
  }

  observeRequest(method: string, route: string, status: number, startedAt: bigint): void {
    const key = `${method} ${route} ${status}`;
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = this.requestDuration.labels(method, route, String(status))));
    series.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
  }

  /** For express routes; the REST shim observes its requests itself. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const started = process.hrtime.bigint();
      res.on("finish", () => {
        const route = (req.route?.path as string | undefined) ?? (req.baseUrl || "unmatched");
        this.observeRequest(req.method, route, res.statusCode, started);
      });
      next();
    };
  }
}

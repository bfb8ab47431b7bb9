import cluster, { type Worker } from "node:cluster";
import type { Config } from "./config.js";
import type { Logger } from "./logging.js";

/** What a worker sends the primary once its gateway listens. */
export const WORKER_READY = "verdict:ready";

/** Why the WORKERS setting cannot be honoured with this configuration, or null when it can. */
export function workersRefusal(config: Config): string | null {
  if (config.WORKERS > 1 && !config.DATABASE_URL) {
    return (
      `WORKERS=${config.WORKERS} needs a Postgres server (set DATABASE_URL): the embedded database runs inside ` +
      "one process and cannot be shared by several. Use WORKERS=1 (the default) with the embedded database."
    );
  }
  return null;
}

/**
 * The primary process of WORKERS > 1. It opens no database and serves nothing itself: it forks WORKERS
 * gateway processes running this same entry point, which listen on one port (node:cluster accepts the
 * connections in the primary and hands them to the workers in turn). Everything the processes share lives
 * in Postgres (caches catch up through LISTEN/NOTIFY, rate limits are leased from the database, the audit
 * chain's head is re-read when another process moved it), so nothing is coordinated here.
 *
 * A worker that dies before it was ready means the gateway cannot start (bad settings, database down):
 * every worker is stopped and the primary exits 1, as a single process would. A worker that dies later is
 * replaced. SIGTERM or SIGINT stops the workers gracefully (each drains its in-flight requests and closes
 * its database pool); any still running SHUTDOWN_GRACE_MS + 5 s later are killed. The primary exits 0 when
 * all stopped cleanly, 1 otherwise.
 */
export function superviseWorkers(config: Config, logger: Logger): void {
  const ready = new Set<number>();
  let stopping = false;
  let exitCode = 0;
  let announced = false;

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on("message", (message: unknown) => {
      if (message !== WORKER_READY) return;
      ready.add(worker.id);
      if (!announced && ready.size === config.WORKERS) {
        announced = true;
        logger.info({ workers: config.WORKERS, pid: process.pid }, "all workers started");
      }
    });
    return worker;
  };

  const stop = (code: number): void => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker.process.kill("SIGTERM");
    setTimeout(() => {
      logger.error("workers did not stop in time: killing them");
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS + 5_000).unref();
  };

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    if (!ready.has(worker.id)) {
      logger.fatal({ worker: worker.id, code, signal }, "a worker failed to start: stopping the gateway");
      stop(1);
      return;
    }
    logger.error({ worker: worker.id, code, signal }, "a worker exited: starting a replacement");
    fork();
  });

  const onSignal = (signal: string): void => {
    logger.info({ signal }, "shutting down: stopping the workers");
    stop(0);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  for (let i = 0; i < config.WORKERS; i++) fork();
}

import cluster from "node:cluster";
import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout; every request gets a child logger carrying its request ID; a cluster worker's lines carry its number. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: cluster.worker ? { service: "verdict", worker: cluster.worker.id } : { service: "verdict" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

import cluster from "node:cluster";
import { type DestinationStream, pino, type Logger } from "pino";

export type { Logger };

/**
 * Connection secrets never reach a log line: the code logs binding references (`env:VAR`, `encrypted`) only, and
 * these paths are censored as a second line of defence should a settings object or URL ever be logged.
 */
const SECRET_PATHS = ["connectionString", "*.connectionString", "password", "*.password", "databaseUrl", "*.databaseUrl", "binding.url", "*.binding.url"];

/**
 * JSON logs on stdout; every request gets a child logger carrying its request ID; a cluster worker's lines carry
 * its number. `traceFields` (given only when tracing is on: src/telemetry) adds the active span's `trace_id` and
 * `span_id` to every line.
 */
export function createLogger(level: string, traceFields?: () => Record<string, string>, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: cluster.worker ? { service: "verdict", worker: cluster.worker.id } : { service: "verdict" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: SECRET_PATHS, censor: "[REDACTED]" },
    ...(traceFields ? { mixin: traceFields } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

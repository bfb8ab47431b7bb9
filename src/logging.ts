import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout; every request gets a child logger carrying its request ID. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "verdict" }, timestamp: pino.stdTimeFunctions.isoTime });
}

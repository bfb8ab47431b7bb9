import { DatabaseUnavailableError } from "../database/database.js";
import { DomainError, DomainErrorCode } from "./domain-error.js";

/** Prisma error codes that mean "the database could not be reached", not "your query was wrong". */
const PRISMA_UNAVAILABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028", "P2037"]);
const NODE_UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND"]);
/**
 * Postgres SQLSTATEs of a server that is stopping, starting or out of connections: class 08 (connection
 * exception), 57P01 admin shutdown (fast shutdown), 57P02 crash shutdown (immediate shutdown), 57P03 cannot
 * connect now (starting up or shutting down), 53300 too many connections.
 */
const POSTGRES_UNAVAILABLE_CODE = /^(?:08[0-9A-Z]{3}|57P0[123]|53300)$/;
const UNAVAILABLE_MESSAGE =
  /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|Can't reach database server|connection (?:was )?closed|Client has encountered a connection error|the database system is (?:starting up|shutting down|in recovery mode)|terminating connection due to (?:administrator|immediate shutdown)/i;

/**
 * Turns anything thrown below a resolver or route into a DomainError, or null for a genuine bug
 * (which the transports mask as an internal error).
 */
export function classifyError(error: unknown): DomainError | null {
  if (error instanceof DomainError) return error;
  if (isDatabaseUnavailable(error)) {
    return new DomainError(DomainErrorCode.DatabaseUnavailable, "The database is unavailable; try again shortly");
  }
  return null;
}

/**
 * Looks through the error, its causes and — for Prisma's driver-adapter errors (P2039 and friends) — the
 * adapter error in `meta.driverAdapterError`, whose `cause` carries the Postgres SQLSTATE.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length > 0 && seen < 10; seen++) {
    const current = pending.pop();
    if (!current || typeof current !== "object") continue;
    if (current instanceof DatabaseUnavailableError) return true;
    const e = current as { code?: unknown; originalCode?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
    for (const code of [e.code, e.originalCode]) {
      if (typeof code !== "string") continue;
      if (PRISMA_UNAVAILABLE_CODES.has(code) || NODE_UNAVAILABLE_CODES.has(code) || POSTGRES_UNAVAILABLE_CODE.test(code)) return true;
    }
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGE.test(e.message)) return true;
    pending.push(e.cause, e.meta?.driverAdapterError);
  }
  return false;
}

import { DatabaseUnavailableError } from "../database/database.js";
import { DomainError, DomainErrorCode } from "./domain-error.js";

/** Prisma error codes that mean "the database could not be reached", not "your query was wrong". */
const PRISMA_UNAVAILABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028", "P2037"]);
const NODE_UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "57P01", "57P03"]);
const UNAVAILABLE_MESSAGE =
  /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|Can't reach database server|connection (?:was )?closed|Client has encountered a connection error/i;

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

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof DatabaseUnavailableError) return true;
    const e = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === "string" && (PRISMA_UNAVAILABLE_CODES.has(e.code) || NODE_UNAVAILABLE_CODES.has(e.code))) {
      return true;
    }
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGE.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}

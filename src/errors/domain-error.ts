/**
 * Every failure a client is meant to understand is a DomainError with a code from this closed list.
 * The transport layers (GraphQL, REST) translate the code with one exhaustive switch each, so a new code
 * cannot ship without a mapping.
 */
export enum DomainErrorCode {
  Unauthenticated = "UNAUTHENTICATED",
  Forbidden = "FORBIDDEN",
  NotFound = "NOT_FOUND",
  InvalidInput = "INVALID_INPUT",
  Conflict = "CONFLICT",
  StaleRevision = "STALE_REVISION",
  NotPublishable = "NOT_PUBLISHABLE",
  PayloadTooLarge = "PAYLOAD_TOO_LARGE",
  RateLimited = "RATE_LIMITED",
  DatabaseUnavailable = "DATABASE_UNAVAILABLE",
}

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * Whole seconds the client should wait before retrying, when the error says: always for RATE_LIMITED (1 when
 * unsaid), and for any error whose details carry `retryAfterSeconds` (a tenant being moved: 503).
 */
export function retryAfterOf(error: DomainError): number | undefined {
  const given = Number(error.details.retryAfterSeconds);
  if (given > 0) return Math.ceil(given);
  return error.code === DomainErrorCode.RateLimited ? 1 : undefined;
}

export const notFound = (what: string, id: string): DomainError => new DomainError(DomainErrorCode.NotFound, `${what} ${id} was not found`, { id });

export const invalidInput = (field: string, problem: string): DomainError => new DomainError(DomainErrorCode.InvalidInput, `${field}: ${problem}`, { field });

export const forbidden = (message = "You are not allowed to do this"): DomainError => new DomainError(DomainErrorCode.Forbidden, message);

export const unauthenticated = (message = "Authentication is required"): DomainError => new DomainError(DomainErrorCode.Unauthenticated, message);

export const conflict = (message: string, details: Record<string, unknown> = {}): DomainError => new DomainError(DomainErrorCode.Conflict, message, details);

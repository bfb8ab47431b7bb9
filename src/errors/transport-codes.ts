import { DomainErrorCode } from "./domain-error.js";

/** Every `extensions.code` this API answers with. */
export const GRAPHQL_ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "CONFLICT",
  "RATE_LIMITED",
  "SERVICE_UNAVAILABLE",
  "INTERNAL_SERVER_ERROR",
] as const;

export type GraphQLErrorCode = (typeof GRAPHQL_ERROR_CODES)[number];

const unreachable = (code: never): never => {
  throw new Error(`Unmapped domain error code ${String(code)}`);
};

export function graphQLCodeFor(code: DomainErrorCode): GraphQLErrorCode {
  switch (code) {
    case DomainErrorCode.Unauthenticated:
      return "UNAUTHENTICATED";
    case DomainErrorCode.Forbidden:
      return "FORBIDDEN";
    case DomainErrorCode.NotFound:
      return "NOT_FOUND";
    case DomainErrorCode.InvalidInput:
    case DomainErrorCode.NotPublishable:
    case DomainErrorCode.PayloadTooLarge:
      return "BAD_USER_INPUT";
    case DomainErrorCode.Conflict:
    case DomainErrorCode.StaleRevision:
      return "CONFLICT";
    case DomainErrorCode.RateLimited:
      return "RATE_LIMITED";
    case DomainErrorCode.DatabaseUnavailable:
      return "SERVICE_UNAVAILABLE";
    default:
      return unreachable(code);
  }
}

export function httpStatusFor(code: DomainErrorCode): number {
  switch (code) {
    case DomainErrorCode.Unauthenticated:
      return 401;
    case DomainErrorCode.Forbidden:
      return 403;
    case DomainErrorCode.NotFound:
      return 404;
    case DomainErrorCode.InvalidInput:
    case DomainErrorCode.NotPublishable:
      return 400;
    case DomainErrorCode.Conflict:
    case DomainErrorCode.StaleRevision:
      return 409;
    case DomainErrorCode.PayloadTooLarge:
      return 413;
    case DomainErrorCode.RateLimited:
      return 429;
    case DomainErrorCode.DatabaseUnavailable:
      return 503;
    default:
      return unreachable(code);
  }
}

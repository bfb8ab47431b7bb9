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

/** The gRPC status names the execution service answers with (src/grpc/README.md), besides OK and CANCELLED. */
export type GrpcStatusName =
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE";

export function grpcStatusFor(code: DomainErrorCode): GrpcStatusName {
  switch (code) {
    case DomainErrorCode.Unauthenticated:
      return "UNAUTHENTICATED";
    case DomainErrorCode.Forbidden:
      return "PERMISSION_DENIED";
    case DomainErrorCode.NotFound:
      return "NOT_FOUND";
    case DomainErrorCode.InvalidInput:
      return "INVALID_ARGUMENT";
    // Runs never conflict or publish; should a service ever say so, it is a precondition, not a bad request.
    case DomainErrorCode.Conflict:
    case DomainErrorCode.StaleRevision:
    case DomainErrorCode.NotPublishable:
      return "FAILED_PRECONDITION";
    // gRPC's own answer to a message over the size limit, and the service's to rate limiting.
    case DomainErrorCode.PayloadTooLarge:
    case DomainErrorCode.RateLimited:
      return "RESOURCE_EXHAUSTED";
    case DomainErrorCode.DatabaseUnavailable:
      return "UNAVAILABLE";
    default:
      return unreachable(code);
  }
}

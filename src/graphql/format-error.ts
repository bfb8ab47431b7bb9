import type { GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { classifyError } from "../errors/classify.js";
import { GRAPHQL_ERROR_CODES, graphQLCodeFor } from "../errors/transport-codes.js";
import { withoutSuggestions } from "./request-errors.js";

/** Codes already in this API's vocabulary (set before execution, e.g. by authentication or rate limiting), passed through. */
const CLIENT_CODES = new Set<string>(GRAPHQL_ERROR_CODES.filter((code) => code !== "INTERNAL_SERVER_ERROR"));

/** Apollo's own request-shape codes all mean "the client sent something wrong"; the original stays as `reason`. */
const REQUEST_SHAPE_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);

/** An error Apollo raised about the request itself with a 4xx status but no code (persisted-query mistakes). */
const isRequestRefusal = (error: unknown): boolean => {
  const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  return typeof status === "number" && status >= 400 && status < 500;
};

export interface ErrorFormatterOptions {
  /** Strip "Did you mean …?" suggestions from every message (production: introspection is off). */
  hideSuggestions: boolean;
}

/**
 * One convention for every error: domain errors (argument validation among them, validate-arguments.ts) keep
 * their message and details and get their GraphQL code; anything unexpected is masked.
 */
export function createErrorFormatter(onUnexpected: (error: unknown) => void, options: ErrorFormatterOptions) {
  const format = formatterOf(onUnexpected);
  if (!options.hideSuggestions) return format;
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const shaped = format(formatted, error);
    return { ...shaped, message: withoutSuggestions(shaped.message) };
  };
}

function formatterOf(onUnexpected: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const domain = classifyError(original);
    if (domain) {
      return {
        message: domain.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: graphQLCodeFor(domain.code), ...(Object.keys(domain.details).length ? { details: domain.details } : {}) },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === "string" && CLIENT_CODES.has(code)) {
      return { ...formatted, extensions: { code } };
    }
    if (typeof code === "string" && REQUEST_SHAPE_CODES.has(code)) {
      return { ...formatted, extensions: { code: "BAD_USER_INPUT", reason: code } };
    }
    if (isRequestRefusal(original)) return { ...formatted, extensions: { code: "BAD_USER_INPUT", reason: "BAD_REQUEST" } };
    onUnexpected(original);
    return { message: "Internal server error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}

import { classifyError } from "../errors/classify.js";
import { httpStatusFor } from "../errors/transport-codes.js";

/** Errors raised outside GraphQL execution (body parsing, authentication, REST routes) as `{code, message}`. */
export function httpErrorFor(error: unknown): { status: number; body: { code: string; message: string } } {
  const parserStatus = (error as { status?: unknown; type?: unknown }).status;
  if (parserStatus === 413) {
    return { status: 413, body: { code: "PAYLOAD_TOO_LARGE", message: "The request body is too large" } };
  }
  if (parserStatus === 400 && (error as { type?: unknown }).type === "entity.parse.failed") {
    return { status: 400, body: { code: "VALIDATION_ERROR", message: "The request body is not valid JSON" } };
  }
  const domain = classifyError(error);
  if (domain) return { status: httpStatusFor(domain.code), body: { code: domain.code, message: domain.message } };
  return { status: 500, body: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } };
}

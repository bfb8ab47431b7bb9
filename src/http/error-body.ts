import { classifyError } from "../errors/classify.js";
import { httpStatusFor } from "../errors/transport-codes.js";

/** Errors raised outside GraphQL execution (body parsing, authentication, REST routes) as `{code, message}`. */
export function httpErrorFor(error: unknown): { status: number; body: { code: string; message: string } } {
  const parserRefusal = bodyParserRefusal(error);
  if (parserRefusal) return parserRefusal;
  const domain = classifyError(error);
  if (domain) return { status: httpStatusFor(domain.code), body: { code: domain.code, message: domain.message } };
  return { status: 500, body: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } };
}

/**
 * body-parser's refusals (too large, not JSON, an unknown charset or content-encoding, a body that does not
 * decompress) are the client's mistakes: it marks them `expose` with a 4xx status.
 */
function bodyParserRefusal(error: unknown): { status: number; body: { code: string; message: string } } | null {
  const { status, type, expose, message, limit } = (error ?? {}) as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown; limit?: unknown };
  if (typeof status !== "number" || status < 400 || status >= 500 || expose !== true) return null;
  if (status === 413) {
    const over = typeof limit === "number" ? `larger than ${limit} bytes` : "too large";
    return { status, body: { code: "PAYLOAD_TOO_LARGE", message: `The request body is ${over}` } };
  }
  if (status === 415) return { status, body: { code: "UNSUPPORTED_MEDIA_TYPE", message: `The request body cannot be read: ${String(message)}` } };
  if (type === "entity.parse.failed") return { status: 400, body: { code: "VALIDATION_ERROR", message: "The request body is not valid JSON" } };
  // Decompression failures and the like carry zlib's wording; the client needs only to know the body was unreadable.
  return { status: 400, body: { code: "VALIDATION_ERROR", message: "The request body could not be read (is its content-encoding right?)" } };
}

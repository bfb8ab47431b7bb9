import { parse as parseLossless, stringify as stringifyLossless } from "lossless-json";

/**
 * product.md §7: `data` comes back exactly as the client sent it, numbers included — `1541815603606036481` stays
 * `1541815603606036481` although the language compares IEEE-754 doubles (docs/language.md), where it is
 * 1541815603606036500. The engine gets `JSON.parse`'s doubles; the echo is written from the request's text.
 *
 * Almost every number a client sends survives the round trip through a double, so the request text is only
 * scanned (strings skipped) for one that does not; only then is it parsed again keeping numbers as their
 * source text (lossless-json, much slower than JSON.parse), and that value's `data` member written back.
 */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Whether some number in the JSON text would come back with other digits from a double (1e400, -0, 2^64, 1.0…). */
export function hasInexactNumber(text: string): boolean {
  STRING_OR_NUMBER.lastIndex = 0;
  for (let match = STRING_OR_NUMBER.exec(text); match !== null; match = STRING_OR_NUMBER.exec(text)) {
    const token = match[0];
    if (token.charCodeAt(0) !== 34 /* " */ && String(Number(token)) !== token) return true;
  }
  return false;
}

/**
 * The JSON text of the `data` member of a request body, every number with the digits sent; undefined when the
 * ordinary serialisation of the parsed value is already exact (the common case).
 */
export function exactDataJson(bodyText: string | undefined): string | undefined {
  if (bodyText === undefined || !hasInexactNumber(bodyText)) return undefined;
  const body = parseLossless(bodyText) as { data?: unknown } | null;
  if (body === null || typeof body !== "object" || !("data" in body)) return undefined;
  return stringifyLossless(body.data);
}

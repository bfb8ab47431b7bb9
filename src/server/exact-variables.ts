import type { NextFunction, Request, Response } from "express";
import { hasInexactNumber, parseKeepingDigits } from "../shared/exact-numbers.js";

/**
 * GraphQL `variables` keep the digits of numbers a double would change (src/shared/exact-numbers.ts):
 * the JSON scalar then gives resolvers doubles and echoes `data` with the client's digits. express.json parses with
 * JSON.parse as always; `verify` scans the raw text, and only a body with such a number is parsed again with
 * lossless-json, whose `variables` replace the parsed ones. Other members (the query, extensions) stay as parsed.
 */
const BODY_TEXT = Symbol("graphql body text needing exact numbers");

interface WithBodyText {
  [BODY_TEXT]?: string;
}

/** express.json's `verify` hook: keeps the body's text only when it holds a number a double would change. */
export function noteExactNumbers(req: unknown, _res: unknown, body: Buffer): void {
  let text = body.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // the byte-order mark body-parser also skips
  if (hasInexactNumber(text)) (req as WithBodyText)[BODY_TEXT] = text;
}

/** Replaces the parsed `variables` with ones keeping exact digits, for the bodies `noteExactNumbers` kept. */
export function keepExactVariables(req: Request, _res: Response, next: NextFunction): void {
  const text = (req as WithBodyText)[BODY_TEXT];
  if (text !== undefined) {
    let exact: unknown;
    try {
      exact = parseKeepingDigits(text);
    } catch {
      // What JSON.parse accepts but lossless-json refuses (a key repeated with other values, extreme nesting):
      // the variables stay doubles rather than the request failing.
      exact = undefined;
    }
    const pairs: [unknown, unknown][] = Array.isArray(req.body) && Array.isArray(exact) ? req.body.map((item, i) => [item, exact[i]]) : [[req.body, exact]];
    for (const [parsed, lossless] of pairs) {
      if (isRecord(parsed) && isRecord(lossless) && isRecord(parsed.variables)) parsed.variables = lossless.variables;
    }
  }
  next();
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../config.js";
import { discardBody } from "../http/lingering-close.js";
import { authenticateAndCount, clientAddressOf, type RateLimiter } from "../http/rate-limit.js";
import type { Evaluator } from "../modules/execution/evaluator.js";
import { SharedBuffers } from "../modules/execution/shared-bytes.js";
import { type LargeBodies, readBody } from "../rest/body.js";
import { LARGE_BODY_BYTES } from "../rest/run.routes.js";
import { noteExactNumbers } from "./exact-variables.js";
import { STREAMED_ENCODINGS, StreamedBody } from "./streamed-body.js";
import type { RequestRouter, RoutedRequest } from "../tenancy/tenant-routing.js";

/**
 * Large GraphQL bodies are parsed in the evaluation pool, not on the event loop (issue #11, fair sharing), as REST
 * bodies are (src/rest/README.md, "Large bodies"). Without this, one `runRule` with a megabyte of `data` cost the event
 * loop its JSON.parse, the JSON scalar's walks of the value (depth, exact digits) and its serialisation for the pool:
 * bench:abuse measured ten such requests of one tenant holding the loop for 1.5 s at a time.
 *
 * A POST declaring more than LARGE_BODY_BYTES of `application/json` (UTF-8, not compressed) is taken here, ahead of
 * express.json, and so is one whose size shows only while it is read — sent in chunks without a declared length, or
 * compressed — once more than LARGE_BODY_BYTES of it (decompressed) have arrived (streamed-body.ts; a shorter one is
 * parsed here as express.json would, and the decision about compressed bodies is written there). The credential is authenticated and counted first (as the REST routes do before reading a body; the
 * GraphQL context then uses this outcome instead of authenticating again), the body is read into shared memory, and a
 * worker parses it in the tenant's turn (a caller without credentials queues by its address). Variables that feed only
 * the `data` argument of a run come back as LargeData (src/modules/execution/large-data.ts): the JSON scalars pass them
 * on unread, the runs evaluate them in the pool, and results echo their text. Everything else in the body is the
 * value express.json would have made. Other bodies take express.json's path, unchanged.
 */

/** What the GraphQL context uses instead of authenticating (earlyAuthentication). */
type Authenticated = { routed: RoutedRequest | null } | { error: unknown };
const authenticated = new WeakMap<IncomingMessage, Authenticated>();

/** The outcome of authenticating a large body's request here, if it was; the context then must not authenticate again. */
export const earlyAuthentication = (req: IncomingMessage): Authenticated | undefined => authenticated.get(req);

export interface LargeGraphqlBodyDependencies {
  config: Config;
  router: RequestRouter;
  rateLimiter: RateLimiter;
  evaluator: Evaluator;
}

export function largeGraphqlBodies(deps: LargeGraphqlBodyDependencies): RequestHandler {
  const { config } = deps;
  const large: LargeBodies = { over: LARGE_BODY_BYTES, buffers: new SharedBuffers(config.BODY_LIMIT_BYTES) };

  /**
   * A body known to be large: the credential is authenticated and counted, then `read` reads the body (into shared
   * memory), and a worker parses it in the tenant's turn. `abandon` discards the body of a refused caller.
   */
  const take = async (req: Request, res: Response, read: () => Promise<Uint8Array | undefined>, abandon: () => Promise<void>): Promise<void> => {
    // Cached credentials share one catch-up with announcements per request (as in the GraphQL context).
    const arrivedAt = process.hrtime.bigint();
    let routed: RoutedRequest | null;
    try {
      routed = await authenticateAndCount(
        deps.rateLimiter,
        config,
        () => clientAddressOf(req),
        () => deps.router.route(req.headers, arrivedAt),
      );
    } catch (error) {
      // The context answers with the error, as it would have; the body is not parsed for a caller refused anyway.
      authenticated.set(req, { error });
      await abandon();
      req.body = {};
      return;
    }
    // The tenant's database stays open until the answer has gone.
    if (routed) res.once("close", routed.release);
    const bytes = await read();
    let parsed: Awaited<ReturnType<Evaluator["parseGraphqlBody"]>>;
    try {
      // express.json's strict mode: only an object or an array is a JSON body (a bare string or number is not).
      if (!opensObjectOrArray(bytes!)) throw malformedJson();
      parsed = await deps.evaluator.parseGraphqlBody(routed ? routed.actor.tenantId : `address:${clientAddressOf(req)}`, bytes!);
    } catch (error) {
      if (isMalformedJson(error)) throw error;
      // The tenant's queue for the pool is full (429): answered by the context, like GraphQL's other refusals.
      authenticated.set(req, { error });
      req.body = {};
      return;
    } finally {
      if (bytes) large.buffers.give(bytes);
    }
    if ("malformed" in parsed) throw malformedJson();
    authenticated.set(req, { routed });
    req.body = parsed.body;
  };

  /** A body of unknown size (streamed-body.ts): parsed here when it ends within LARGE_BODY_BYTES, else taken as large. */
  const takeStreamed = async (req: Request, res: Response, encoding: string): Promise<void> => {
    const body = new StreamedBody(req, encoding, config.BODY_LIMIT_BYTES);
    if (await body.readUpTo(LARGE_BODY_BYTES)) return parseHere(req, res, body.bytes());
    const read = async () => {
      const target = large.buffers.take(config.BODY_LIMIT_BYTES);
      try {
        return target.subarray(0, await body.readRestInto(target));
      } catch (error) {
        large.buffers.give(target);
        throw error;
      }
    };
    await take(req, res, read, () => body.abandon());
  };

  return (req: Request, res: Response, next: NextFunction) => {
    const kind = bodyKind(req);
    if (kind === null) return next();
    const taken =
      kind === "declared"
        ? take(
            req,
            res,
            () => readBody(req, config.BODY_LIMIT_BYTES, large),
            () => discardBody(req),
          )
        : takeStreamed(req, res, kind.streamed);
    taken.then(() => next(), next);
  };
}

/**
 * The bodies this path takes, all of them POSTs of `application/json` in UTF-8: one declaring more than
 * LARGE_BODY_BYTES (uncompressed), and one whose size is known only once read — sent in chunks without a declared
 * length, or compressed in an encoding express.json would inflate (streamed-body.ts). Others go to express.json.
 */
function bodyKind(req: IncomingMessage): "declared" | { streamed: string } | null {
  if (req.method !== "POST") return null;
  const type = /^\s*application\/json\s*(?:;\s*charset\s*=\s*"?([\w-]+)"?\s*)?$/i.exec(req.headers["content-type"] ?? "");
  if (type === null || (type[1] !== undefined && type[1].toLowerCase() !== "utf-8")) return null;
  // As body-parser reads the header (no list of encodings: it refuses those with 415).
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (STREAMED_ENCODINGS.has(encoding)) return { streamed: encoding };
  if (encoding !== "identity") return null;
  const declared = req.headers["content-length"];
  if (declared === undefined) return req.headers["transfer-encoding"] !== undefined ? { streamed: encoding } : null;
  return Number(declared) > LARGE_BODY_BYTES ? "declared" : null;
}

/**
 * A streamed body that turned out small, parsed here as express.json parses (which then skips the request, whose body
 * has been read): `verify` first, the text decoded as UTF-8 without a byte-order mark, an empty body `{}`, strict mode.
 */
function parseHere(req: Request, res: Response, bytes: Buffer): void {
  noteExactNumbers(req, res, bytes);
  let text = bytes.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) {
    req.body = {};
    return;
  }
  if (!opensObjectOrArray(bytes)) throw malformedJson();
  try {
    req.body = JSON.parse(text);
  } catch {
    throw malformedJson();
  }
}

/** Whether UTF-8 JSON text starts (after a byte-order mark and whitespace) with `{` or `[`; looks at a few bytes only. */
function opensObjectOrArray(bytes: Uint8Array): boolean {
  let at = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (bytes[at] === 0x20 || bytes[at] === 0x09 || bytes[at] === 0x0a || bytes[at] === 0x0d) at++;
  return bytes[at] === 0x7b || bytes[at] === 0x5b;
}

/** express.json's refusal of a body that is not JSON, which the app's error handler answers (src/http/error-body.ts). */
const malformedJson = () => Object.assign(new SyntaxError("The request body is not valid JSON"), { status: 400, expose: true, type: "entity.parse.failed" });
const isMalformedJson = (error: unknown) => error instanceof SyntaxError && (error as { type?: unknown }).type === "entity.parse.failed";

import type { IncomingMessage } from "node:http";
import type { Readable, Transform } from "node:stream";
import zlib from "node:zlib";
import { discardBody } from "../http/lingering-close.js";

/**
 * A GraphQL request body whose size is not known before it is read (issue #11, fair sharing): sent in chunks without
 * a `content-length`, or compressed. large-graphql-body.ts reads it here up to LARGE_BODY_BYTES, then decides: a
 * body that ended by then is parsed on the event loop as express.json would have; a longer one goes to the
 * evaluation pool like a body that declared its length.
 *
 * Compressed bodies: `/graphql` has always accepted what express.json inflates (gzip, deflate, br), and keeps doing
 * so — browsers' and Apollo's clients can send them, and refusing them now would break such a client. They are
 * decompressed here as a stream (zlib works on libuv's threads, not the event loop), and BODY_LIMIT_BYTES bounds the
 * *decompressed* size: a body inflating past it is refused with 413 as soon as it does, so a zip bomb costs at most the
 * limit in memory. The compressed bytes are bounded by the same limit (a stream of empty deflate blocks inflates to
 * nothing for ever). Any other encoding is left to express.json, which answers 415 naming it. The REST `/run…`
 * routes refuse every compressed body with 415 instead (src/rest/body.ts): no execution client sends them.
 */
export const STREAMED_ENCODINGS: ReadonlySet<string> = new Set(["gzip", "deflate", "br"]);

/** The errors express.json (body-parser) gives, which the app's error handler answers (src/http/error-body.ts). */
const tooLarge = (limit: number) => Object.assign(new Error("request entity too large"), { status: 413, expose: true, limit, type: "entity.too.large" });
const unreadable = (cause: unknown) => Object.assign(new Error("the request body could not be read", { cause }), { status: 400, expose: true });

export class StreamedBody {
  private readonly decompressor: Transform | null;
  /** What is read: the request itself, or its decompression. */
  private readonly source: Readable;
  private chunks: Buffer[] = [];
  /** Bytes read from `source` (decompressed), and from the socket. */
  private size = 0;
  private received = 0;
  private done = false;

  constructor(
    private readonly req: IncomingMessage,
    /** The lower-cased `content-encoding`: "identity" or one of STREAMED_ENCODINGS. */
    encoding: string,
    private readonly limit: number,
  ) {
    this.decompressor =
      encoding === "gzip" ? zlib.createGunzip() : encoding === "deflate" ? zlib.createInflate() : encoding === "br" ? zlib.createBrotliDecompress() : null;
    this.source = this.decompressor ? req.pipe(this.decompressor) : req;
  }

  /** Reads until the body ends (true) or more than `over` bytes have been read (false: the rest waits, paused). */
  readUpTo(over: number): Promise<boolean> {
    return this.pump((chunk) => {
      this.chunks.push(chunk);
      return this.size <= over;
    });
  }

  /** The bytes read so far, in one buffer (for a body that ended within `readUpTo`). */
  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }

  /**
   * Reads the rest of the body into `target` (at least the limit long: shared memory for the pool), the bytes read so
   * far first; resolves with the body's length.
   */
  async readRestInto(target: Uint8Array): Promise<number> {
    let at = 0;
    for (const chunk of this.chunks) {
      target.set(chunk, at);
      at += chunk.length;
    }
    this.chunks = [];
    await this.pump((chunk) => {
      target.set(chunk, at);
      at += chunk.length;
      return true;
    });
    return at;
  }

  /** Stops reading (a refused caller): decompression ends, and the rest of the request is discarded before the answer. */
  abandon(): Promise<void> {
    this.finish();
    return discardBody(this.req);
  }

  /**
   * Feeds each chunk to `take` until the body ends (true) or `take` says stop (false). Over the limit, decompressed
   * or as received, the rest is discarded and 413 raised; a body that does not decompress, or is cut off, is 400.
   */
  private pump(take: (chunk: Buffer) => boolean): Promise<boolean> {
    const { req, source } = this;
    return new Promise<boolean>((resolve, reject) => {
      const stop = () => {
        source.off("data", onData);
        source.off("end", onEnd);
        source.off("error", onError);
        req.off("data", onReceived);
        req.off("close", onClose);
      };
      const fail = (error: unknown) => {
        stop();
        this.finish();
        void discardBody(req).then(() => reject(error));
      };
      const onData = (chunk: Buffer) => {
        this.size += chunk.length;
        if (this.size > this.limit) return fail(tooLarge(this.limit));
        if (take(chunk)) return;
        stop();
        source.pause();
        resolve(false);
      };
      const onReceived = (chunk: Buffer) => {
        this.received += chunk.length;
        if (this.received > this.limit) fail(tooLarge(this.limit));
      };
      const onEnd = () => {
        stop();
        this.finish();
        // Bytes after the end of the compressed data, if any, are read off so that the request finishes.
        if (this.decompressor) req.resume();
        resolve(true);
      };
      const onError = (error: unknown) => fail(unreadable(error));
      // A client that hangs up mid-body gets no answer; its request still ends here rather than waiting for ever.
      const onClose = () => {
        if (!req.complete) fail(Object.assign(unreadable(new Error("request aborted")), { type: "request.aborted" }));
      };
      source.on("data", onData);
      source.once("end", onEnd);
      source.once("error", onError);
      if (this.decompressor) req.on("data", onReceived);
      req.once("close", onClose);
      source.resume();
    });
  }

  /** Detaches and ends the decompression (body-parser does the same once it has what it needs). */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.decompressor) {
      this.req.unpipe(this.decompressor);
      this.decompressor.on("error", () => {});
      this.decompressor.destroy();
    }
  }
}

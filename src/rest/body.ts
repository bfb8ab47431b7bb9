import type { IncomingMessage } from "node:http";
import { type SharedBuffers, utf8Text } from "../modules/execution/shared-bytes.js";

/** Why a request body could not be read as JSON; each maps to its own status in responses.ts. */
export class BodyError extends Error {
  override name = "BodyError";
  constructor(
    readonly reason: "too-large" | "malformed-json" | "compressed" | "aborted",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where bodies declared larger than `over` bytes are read: into shared memory, chunk by chunk as they arrive, so that
 * they reach the worker that parses them without another copy of the whole (src/modules/execution/large-data.ts). The
 * caller gives the buffer back once the worker has read it.
 */
export interface LargeBodies {
  over: number;
  buffers: SharedBuffers;
}

/** A body parsed as JSON (jsonBodyOf). */
export interface JsonBody {
  value: unknown;
  /** The body as received (without a byte-order mark), for echoing numbers exactly (exact-numbers.ts). */
  text: string | undefined;
}

/**
 * Reads a request body's bytes, to be read as JSON whatever its content type (some clients send none, or their HTTP
 * library's form default). An empty body is `undefined`. A body that grows over `limitBytes` while read is refused at
 * once without buffering the rest (the answer is sent once the rest is discarded: src/http/lingering-close.ts);
 * one *declared* over the limit never gets here (the server refuses it before routing). Compressed bodies are
 * refused: no execution client sends them, and inflating would need its own limits.
 *
 * Hand-written rather than body-parser because this runs on every execution request, and body-parser's
 * generality (charset tables, inflation, stream bookkeeping) cost more than the whole JSON parse.
 */
export function readBody(req: IncomingMessage, limitBytes: number, large?: LargeBodies): Promise<Uint8Array | undefined> {
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    return Promise.reject(new BodyError("compressed", `Compressed request bodies (content-encoding: ${encoding}) are not accepted`));
  }
  const declared = Number(req.headers["content-length"]);
  const shared = large !== undefined && declared > large.over && declared <= limitBytes ? large.buffers.take(declared) : null;
  // Anonymous handlers only: under tsx (the start command, the benchmarks) a named closure also costs a defineProperty
  // of its name, on a path every run takes.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size > limitBytes) return; // refused already: the rest is discarded as it flows
      size += chunk.length;
      if (size > limitBytes) {
        reject(tooLarge(limitBytes)); // the answer waits for the rest, then closes the connection
        return;
      }
      // Node's parser passes exactly the declared length (more is the next request, less an abort).
      if (shared !== null) shared.set(chunk, size - chunk.length);
      else chunks.push(chunk);
    });
    // A client that hangs up mid-body gets no answer; its request still ends here rather than waiting forever.
    req.once("error", () => abortedRead(shared, large, reject));
    req.once("close", () => {
      if (!req.complete) abortedRead(shared, large, reject);
    });
    req.once("end", () => {
      if (size > limitBytes) return;
      if (shared !== null) return resolve(shared);
      resolve(size === 0 ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

/** A body that did not arrive whole: its shared buffer (if any) is given back, the read refused. */
function abortedRead(shared: Uint8Array | null, large: LargeBodies | undefined, reject: (error: BodyError) => void): void {
  if (shared !== null) large!.buffers.give(shared);
  reject(new BodyError("aborted", "The request body was not received completely"));
}

/** A body's bytes parsed as JSON here, on the event loop: for bodies small enough that this costs little. */
export function jsonBodyOf(bytes: Uint8Array | undefined): JsonBody {
  if (bytes === undefined) return { value: undefined, text: undefined };
  let text = utf8Text(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark some Windows clients send
  try {
    return { value: JSON.parse(text), text };
  } catch {
    throw malformedJson();
  }
}

export const malformedJson = () => new BodyError("malformed-json", "The request body is not valid JSON");

const tooLarge = (limitBytes: number) => new BodyError("too-large", `The request body is larger than ${limitBytes} bytes`);

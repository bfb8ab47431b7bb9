import type { IncomingMessage } from "node:http";

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
 * Reads a request body as JSON, whatever its content type (some clients send none, or their HTTP library's
 * form default). An empty body is `undefined`. A body that grows over `limitBytes` while read is refused at
 * once without buffering the rest (the answer is sent once the rest is discarded: src/http/lingering-close.ts);
 * one *declared* over the limit never gets here (the server refuses it before routing). Compressed bodies are
 * refused: no execution client sends them, and inflating would need its own limits.
 *
 * Hand-written rather than body-parser because this runs on every execution request, and body-parser's
 * generality (charset tables, inflation, stream bookkeeping) cost more than the whole JSON parse.
 */
export interface JsonBody {
  value: unknown;
  /** The body as received (without a byte-order mark), for echoing numbers exactly (exact-numbers.ts). */
  text: string | undefined;
}

export function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<JsonBody> {
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    return Promise.reject(new BodyError("compressed", `Compressed request bodies (content-encoding: ${encoding}) are not accepted`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off("data", onData);
        req.resume(); // discard the rest; the answer waits for it, then closes the connection
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    // A client that hangs up mid-body gets no answer; its request still ends here rather than waiting forever.
    const aborted = () => reject(new BodyError("aborted", "The request body was not received completely"));
    req.once("error", aborted);
    req.once("close", () => {
      if (!req.complete) aborted();
    });
    req.once("end", () => {
      if (size > limitBytes) return;
      if (size === 0) return resolve({ value: undefined, text: undefined });
      let text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString("utf8");
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark some Windows clients send
      try {
        resolve({ value: JSON.parse(text), text });
      } catch {
        reject(new BodyError("malformed-json", "The request body is not valid JSON"));
      }
    });
  });
}

const tooLarge = (limitBytes: number) => new BodyError("too-large", `The request body is larger than ${limitBytes} bytes`);

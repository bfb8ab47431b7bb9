import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * How much of an unwanted request body the gateway reads and throws away before answering, and for how long.
 *
 * A client still writing its body when the server closes the connection gets a reset (EPIPE, "broken pipe")
 * instead of the answer: most HTTP clients read the response only after sending the whole request. So an answer
 * given before the body was read (413, 401, …) waits until the rest has arrived and been discarded — nothing is
 * buffered — then closes the connection ("lingering close"). The bounds keep a client from holding a connection
 * by sending for ever: past them, the answer goes out and the connection closes anyway.
 */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
export const LINGER_MAX_MS = 10_000;

/** Resolves once the rest of the request body has been read and discarded, or a bound was reached. */
export function discardBody(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  const declared = Number(req.headers["content-length"]);
  if (declared > LINGER_MAX_BYTES) return Promise.resolve(); // not worth waiting for: answer and close at once
  return new Promise((resolve) => {
    let received = 0;
    const done = () => {
      clearTimeout(timer);
      req.off("data", count);
      req.off("end", done);
      req.off("close", done);
      resolve();
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > LINGER_MAX_BYTES) done();
    };
    const timer = setTimeout(done, LINGER_MAX_MS);
    req.on("data", count);
    req.once("end", done);
    req.once("close", done);
    req.resume();
  });
}

const BODY_TOO_LARGE = (limitBytes: number) => JSON.stringify({ code: "PAYLOAD_TOO_LARGE", message: `The request body is larger than ${limitBytes} bytes` });

/**
 * Answers 413 to a request that declares a body over the limit, on any route, without reading it into memory:
 * the body is discarded first (see above), then the answer is sent and the connection closed. Returns false when
 * the request declares no such body.
 */
export function refuseDeclaredOversizeBody(
  req: IncomingMessage,
  res: ServerResponse,
  limitBytes: number,
  requestId: string,
  onAnswered: (status: number) => void,
): boolean {
  const declared = Number(req.headers["content-length"]);
  if (!(declared > limitBytes)) return false;
  void discardBody(req).then(() => {
    if (res.headersSent || res.destroyed) return;
    const body = BODY_TOO_LARGE(limitBytes);
    res.writeHead(413, [
      "content-type",
      "application/json; charset=utf-8",
      "content-length",
      String(Buffer.byteLength(body)),
      "x-request-id",
      requestId,
      "connection",
      "close",
    ]);
    res.end(body);
    onAnswered(413);
  });
  return true;
}

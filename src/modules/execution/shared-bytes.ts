/**
 * UTF-8 text in shared memory, the way large data and traces travel between the event loop and the evaluation
 * pool (large-data.ts): a SharedArrayBuffer crosses a thread boundary without being copied or detached, so the same
 * bytes can go to many tasks and into the answer.
 */
export function sharedUtf8(text: string): Uint8Array {
  const bytes = Buffer.from(new SharedArrayBuffer(Buffer.byteLength(text)));
  bytes.write(text);
  return new Uint8Array(bytes.buffer, 0, bytes.length);
}

/** A copy of `bytes` in shared memory (a request body read from the socket, before a worker parses it). */
export function sharedCopy(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}

/** The text of UTF-8 bytes (malformed sequences become U+FFFD, as when Node decodes a request body). */
export const utf8Text = (bytes: Uint8Array): string => asBuffer(bytes).toString("utf8");

/** A Buffer over the same memory, for writing to a socket or decoding. */
export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Shared buffers for large request bodies, kept for reuse (at most KEPT of them). Memory a process touches for the
 * first time costs a page fault per page: on the loaded 2-core machine, filling a fresh megabyte took 4–14 ms of the
 * event loop where refilling a used one took 0.1 ms, and every large body needs one megabyte-sized buffer until the
 * worker has parsed it.
 */
export class SharedBuffers {
  private readonly free: SharedArrayBuffer[] = [];

  constructor(
    /** The size of each buffer: the body limit. */
    private readonly size: number,
    private readonly kept = 16,
  ) {}

  /** A buffer of `length` bytes (a view of a kept one when it fits). */
  take(length: number): Uint8Array {
    const buffer = length <= this.size ? (this.free.pop() ?? new SharedArrayBuffer(this.size)) : new SharedArrayBuffer(length);
    return new Uint8Array(buffer, 0, length);
  }

  /** Gives a buffer from `take` back once nothing reads it any more. */
  give(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (buffer instanceof SharedArrayBuffer && buffer.byteLength === this.size && this.free.length < this.kept) this.free.push(buffer);
  }
}

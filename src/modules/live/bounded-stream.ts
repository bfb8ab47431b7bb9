/**
 * The events waiting for one subscription. The writer never waits: when the subscriber reads too slowly (its
 * socket does not drain) and `capacity` events are waiting, the stream ends with an overflow error instead of
 * growing without bound; the client resubscribes and reads what it missed from the `auditEvents` query.
 */
export class StreamOverflowError extends Error {
  override name = "StreamOverflowError";
}

export class BoundedStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((error: Error) => void) | null = null;
  private finished = false;
  private failure: Error | null = null;

  constructor(
    private readonly capacity: number,
    private readonly onClose: () => void,
  ) {}

  push(value: T): void {
    if (this.finished) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value, done: false });
      return;
    }
    if (this.queue.length >= this.capacity) {
      this.fail(new StreamOverflowError(`More than ${this.capacity} events waited for this subscription: it was ended; subscribe again`));
      return;
    }
    this.queue.push(value);
  }

  /** Ends the stream: the events still queued are dropped and the next read fails with `error`. */
  fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    this.queue.length = 0;
    this.close();
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = null;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    this.queue.length = 0;
    if (this.waiting) this.waiting({ value: undefined, done: true });
    this.waiting = this.failWaiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    this.onClose();
  }
}

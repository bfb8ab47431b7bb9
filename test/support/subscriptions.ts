import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface Received {
  data?: any;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One graphql-ws connection to a gateway, authenticated by `connectionParams`; `closed` says how it ended. */
export function subscriptionClient(url: string, connectionParams: Record<string, unknown> = {}) {
  let resolveClosed!: (event: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
  const client: Client = createClient({
    url: `${url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {}, // the test reads `closed` instead
    on: { closed: (event) => resolveClosed({ code: (event as CloseEvent).code, reason: String((event as CloseEvent).reason) }) },
  });
  return { client, closed, dispose: () => client.dispose() };
}

/**
 * Subscribes and collects what arrives. `next()` waits for the next message (a result, or an error the server
 * reported for the subscription), `started` resolves once the server has set the subscription up (the caller
 * must make an event happen to know; see `untilNext`).
 */
export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const received: Received[] = [];
  const waiters: ((message: Received) => void)[] = [];
  let ended: Error | null = null;
  let count = 0;
  const push = (message: Received): void => {
    count += 1;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else received.push(message);
  };
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (value) => push(value as Received),
      error: (error) => {
        const errors = Array.isArray(error)
          ? (error as Received["errors"])
          : [{ message: String((error as Error)?.message ?? (error as CloseEvent)?.reason ?? error) }];
        ended = new Error(JSON.stringify(errors));
        push({ errors });
      },
      complete: () => {},
    },
  );
  return {
    next: (): Promise<Received> => {
      const message = received.shift();
      if (message) return Promise.resolve(message);
      return new Promise((resolve) => waiters.push(resolve));
    },
    get ended() {
      return ended;
    },
    /** How many messages have arrived so far, read or not. */
    get received() {
      return count;
    },
    unsubscribe,
  };
}

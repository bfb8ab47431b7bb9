import { createHash } from "node:crypto";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.js";
import { APPLIED_MIGRATIONS_SQL, type Database, withTimeout } from "./database.js";

export interface PostgresOptions {
  url: string;
  poolSize: number;
  poolWaitMs: number;
  onError?: (error: Error) => void;
}

/** A Postgres server shared by any number of gateway processes. */
export function connectPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // A stopped server refuses at once; this bounds waiting for a busy pool or a silent network.
    connectionTimeoutMillis: options.poolWaitMs,
    idleTimeoutMillis: 30_000,
    query_timeout: 30_000,
  });
  // Idle clients that lose their server emit here; without a listener the process would crash.
  pool.on("error", (error) => options.onError?.(error));
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    transactionOptions: { maxWait: options.poolWaitMs, timeout: 15_000 },
  });
  const listeners = new NotificationListener(options.url, options.onError);
  // Named, so each connection prepares the statement once and Postgres skips parsing and planning after.
  const prepared = (sql: string, params: readonly unknown[]) => pool.query({ name: statementName(sql), text: sql, values: [...params] });

  return {
    kind: "postgres",
    prisma,
    async query(sql, params) {
      return (await prepared(sql, params)).rows;
    },
    async execute(sql, params) {
      return (await prepared(sql, params)).rowCount ?? 0;
    },
    async ping(timeoutMs) {
      await withTimeout(pool.query("SELECT 1"), timeoutMs, "database ping");
    },
    async appliedMigrations() {
      const { rows } = await pool.query<{ migration_name: string }>(APPLIED_MIGRATIONS_SQL);
      return rows.map((r) => r.migration_name);
    },
    listen: (channel, onMessage) => listeners.subscribe(channel, onMessage),
    async notify(channel, payload) {
      await pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
    },
    catchUp: (since) => listeners.catchUp(since),
    async close() {
      await listeners.close();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) statementNames.set(sql, (name = `verdict_${createHash("sha1").update(sql).digest("hex").slice(0, 16)}`));
  return name;
}

/** A listening connection that cannot answer a trivial query this fast cannot be trusted to be current. */
const CATCH_UP_TIMEOUT_MS = 1_000;

/**
 * One dedicated connection holds every LISTEN of this process. If it drops, it reconnects with backoff
 * and re-issues the LISTENs. Subscribers receive the payload "*" when the connection drops and again
 * when it is back, so they can drop caches that may have missed a notification meanwhile.
 *
 * Catching up is a round trip (an empty query) on that same connection. Postgres signals every listening
 * backend when a notifying transaction commits, before that COMMIT returns, and a listening backend sends the
 * notifications it has been signalled about before it answers a later query. So once a query sent after the call is
 * answered, every notification committed before the call has been handed to the subscribers. Callers
 * share round trips: one probe is in flight at a time, and callers that arrive while it is in flight
 * wait for the next one (the one in flight may have been sent before they arrived).
 */
class NotificationListener {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  /** The last query sent on the connection: the next one waits for it (queryInTurn). */
  private lastQuery: Promise<unknown> = Promise.resolve();
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;
  private retryDelayMs = 100;
  private everConnected = false;
  private probeInFlight: Promise<void> | null = null;
  /** When the probe in flight was sent (process.hrtime.bigint()). */
  private probeInFlightSentAt = -1n;
  private nextProbe: Promise<void> | null = null;
  /** When the last probe that was answered had been sent: every notification committed before then has been handed on. */
  private caughtUpAt = -1n;

  constructor(
    private readonly url: string,
    private readonly onError?: (error: Error) => void,
  ) {}

  async subscribe(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const isNewChannel = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(onMessage);
    const client = await this.connect();
    if (isNewChannel) await this.queryInTurn(client, `LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      set.delete(onMessage);
    };
  }

  catchUp(since?: bigint): Promise<void> {
    // A probe sent at or after `since` already answers for it: one round trip serves a whole request.
    if (since !== undefined) {
      if (this.caughtUpAt >= since) return Promise.resolve();
      if (this.probeInFlight && this.probeInFlightSentAt >= since) return this.probeInFlight;
    }
    // Sent once this turn of the event loop is done, so every request read in the same turn shares it.
    this.nextProbe ??= (this.probeInFlight ?? Promise.resolve())
      .catch(() => {})
      .then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(() => {
        this.nextProbe = null;
        return this.probe();
      });
    return this.nextProbe;
  }

  private probe(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("The notification listener is closed"));
    let sentAt = -1n;
    const probe = this.connect()
      .then((client) => {
        sentAt = process.hrtime.bigint();
        if (this.probeInFlight === probe) this.probeInFlightSentAt = sentAt;
        // An empty query is the cheapest round trip there is: Postgres answers EmptyQueryResponse.
        return withTimeout(this.queryInTurn(client, ""), CATCH_UP_TIMEOUT_MS, "catching up with notifications").catch((error: unknown) => {
          // A connection too slow to answer may also be sitting on notifications: start it afresh.
          this.dropAndReconnect(client);
          client.end().catch(() => {});
          throw error;
        });
      })
      .then(() => {
        if (sentAt > this.caughtUpAt) this.caughtUpAt = sentAt;
      })
      .finally(() => {
        if (this.probeInFlight === probe) this.probeInFlight = null;
      });
    this.probeInFlight = probe;
    this.probeInFlightSentAt = -1n; // not sent until connected
    return probe;
  }

  /**
   * A connection runs one query at a time, and the caches subscribe at start-up all at once while probes go out:
   * each query waits for the one before it here, rather than in pg's own queue, which pg deprecates (it warns, and
   * pg 9 will refuse). A probe that waits is sent later than `sentAt` says, so what it claims still holds.
   */
  private queryInTurn(client: pg.Client, text: string): Promise<unknown> {
    const turn = this.lastQuery.catch(() => {}).then(() => client.query(text));
    this.lastQuery = turn;
    return turn;
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    client.on("notification", (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? "");
    });
    client.on("error", (error) => {
      this.onError?.(error);
      this.dropAndReconnect(client);
    });
    client.on("end", () => this.dropAndReconnect(client));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.client = client;
    this.retryDelayMs = 100;
    // Whatever subscribers cached while we were away may be stale: tell them to start clean.
    if (reconnected) this.broadcastReset();
    return client;
  }

  private dropAndReconnect(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.closed) return;
    // Anything published while we were away was missed: tell every subscriber to start clean.
    this.broadcastReset();
    const retry = (): void => {
      if (this.closed) return;
      this.connect().catch(() => {
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5_000);
        setTimeout(retry, this.retryDelayMs).unref();
      });
    };
    setTimeout(retry, this.retryDelayMs).unref();
  }

  private broadcastReset(): void {
    for (const set of this.handlers.values()) for (const handler of set) handler("*");
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}

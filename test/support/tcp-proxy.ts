import net from "node:net";

/** What a Postgres server says to its clients while it stops or starts (SQLSTATE and message, FATAL). */
export const POSTGRES_OUTAGE_ERRORS = {
  fastShutdown: { code: "57P01", message: "terminating connection due to administrator command" },
  immediateShutdown: { code: "57P02", message: "terminating connection because of crash of another server process" },
  shuttingDown: { code: "57P03", message: "the database system is shutting down" },
  startingUp: { code: "57P03", message: "the database system is starting up" },
} as const;
export type PostgresOutageError = (typeof POSTGRES_OUTAGE_ERRORS)[keyof typeof POSTGRES_OUTAGE_ERRORS];

/** A backend ErrorResponse message of severity FATAL, as Postgres sends it before closing a connection. */
function fatalErrorMessage({ code, message }: PostgresOutageError): Buffer {
  const field = (type: string, value: string) => Buffer.concat([Buffer.from(type), Buffer.from(value), Buffer.from([0])]);
  const fields = Buffer.concat([field("S", "FATAL"), field("V", "FATAL"), field("C", code), field("M", message), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write("E", 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/**
 * A TCP proxy in front of Postgres that a test can cut and restore, to simulate the database going away
 * without stopping the shared server; or make it speak like a server that is stopping or starting.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  /** While set, new connections are answered with this FATAL error instead of reaching Postgres. */
  private refusal: PostgresOutageError | null = null;
  /** Each open client connection and its upstream connection to Postgres. */
  private readonly clients = new Map<net.Socket, net.Socket>();
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Statements executed through the proxy (Postgres protocol Query and Execute messages). */
  statements = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => {
      if (this.refusal) {
        const refusal = this.refusal;
        this.sockets.add(client);
        client.on("close", () => this.sockets.delete(client));
        client.on("error", () => client.destroy());
        // Postgres reads the startup message, then answers it with the error and closes.
        client.once("data", () => client.end(fatalErrorMessage(refusal)));
        return;
      }
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.clients.set(client, upstream);
      client.on("close", () => this.clients.delete(client));
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on(
        "data",
        countStatements(() => this.statements++),
      );
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, "127.0.0.1", resolve);
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every connection and refuses new ones, like a stopped server. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /**
   * Like a Postgres server stopping or starting: every open connection receives `terminate` (if given) as a
   * FATAL error and is closed, and new connections are refused with `refuse` until `serve()`.
   */
  speakOutage(terminate: PostgresOutageError | null, refuse: PostgresOutageError): void {
    this.refusal = refuse;
    for (const [client, upstream] of this.clients) {
      upstream.unpipe(client);
      upstream.destroy();
      if (terminate) client.end(fatalErrorMessage(terminate));
      else client.destroy();
    }
  }

  /** Stops refusing new connections (see speakOutage). */
  serve(): void {
    this.refusal = null;
  }

  async restore(): Promise<void> {
    if (!this.server) await this.start(this.port);
  }
}

/**
 * Reads the frontend side of the Postgres wire protocol and reports each statement run: a simple 'Q'uery
 * or an extended-protocol 'E'xecute. The first message of a connection is the untyped startup message.
 */
function countStatements(onStatement: () => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let startupSeen = false;
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (!startupSeen) {
        if (buffered.length < 4) return;
        const length = buffered.readInt32BE(0);
        if (buffered.length < length) return;
        buffered = buffered.subarray(length);
        startupSeen = true;
        continue;
      }
      if (buffered.length < 5) return;
      const type = String.fromCharCode(buffered[0]!);
      const length = buffered.readInt32BE(1);
      if (buffered.length < length + 1) return;
      if (type === "Q" || type === "E") onStatement();
      buffered = buffered.subarray(length + 1);
    }
  };
}

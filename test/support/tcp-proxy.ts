import net from "node:net";

/**
 * A TCP proxy in front of Postgres that a test can cut and restore, to simulate the database going away
 * without stopping the shared server.
 */
export class TcpProxy {
  private server: net.Server | null = null;
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
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", countStatements(() => this.statements++));
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

import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import path from "node:path";
import { type Config, isProduction } from "./config.js";
import type { Database } from "./database/database.js";
import { readMigrations } from "./database/migrator.js";
import { MIGRATIONS_DIR, openDatabase } from "./database/open.js";
import { buildBareSchema, buildSchema } from "./server/schema.js";
import { createHttpApp } from "./server/app.js";
import { startGrpcServer, type GrpcServer } from "./grpc/server.js";
import { RateLimiter } from "./http/rate-limit.js";
import { attachGraphQLWebSocket } from "./server/graphql-ws.js";
import { createAuthenticator, type Authenticator } from "./identity/authenticate.js";
import type { TenantActor } from "./identity/actor.js";
import { createTokenVerifier, type TokenSettings } from "./identity/tokens.js";
import type { Logger } from "./logging.js";
import { createServices, type Services } from "./services.js";
import { telemetry } from "./telemetry/tracing.js";

export interface Gateway {
  url: string;
  /** `host:port` of the gRPC execution service, when GRPC_PORT is set. */
  grpcAddress: string | null;
  database: Database;
  services: Services;
  tokenSettings: TokenSettings;
  /** Stops accepting connections, lets in-flight requests and gRPC calls finish, then closes the database. */
  close(): Promise<void>;
}

/** Not configuration: options for measuring the gateway (bench/auth.bench.ts), never set by `main.ts`. */
export interface GatewayOptions {
  benchmark?: {
    /** Serve the schema without the graphql-shield middleware. */
    withoutShield?: boolean;
    /** Skip authentication: every request acts as this actor. */
    fixedActor?: TenantActor;
  };
}

export async function startGateway(config: Config, logger: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const database = await openDatabase(config, {
    log: (message) => logger.info(message),
    onError: (error) => logger.warn({ err: error }, "database connection error"),
  });
  const expectedMigrations = (await readMigrations(MIGRATIONS_DIR)).map((m) => m.name);
  const tokenSettings: TokenSettings = {
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL,
    secret: config.AUTH_JWT_SECRET ?? (config.DATABASE_URL ? undefined : await embeddedSecret(config.DATA_DIR)),
  };
  const services = createServices(database, undefined, {
    deadlineMs: config.EVALUATION_DEADLINE_MS,
    workers: config.EVALUATION_WORKERS ?? evaluationThreadsPerProcess(config.WORKERS),
  });
  await services.runnables.start();
  await services.inputRecorder.start();
  await services.shadowRunner.start();
  const fixedActor = options.benchmark?.fixedActor;
  const authenticator: Authenticator = traced(
    fixedActor ? { authenticate: async () => fixedActor } : createAuthenticator(database, createTokenVerifier(tokenSettings)),
  );
  // One allowance per key or user, whichever transport it calls through.
  const rateLimiter = new RateLimiter(database);
  await services.live.start();
  const schema = options.benchmark?.withoutShield ? buildBareSchema() : buildSchema();
  const { server, apollo } = await createHttpApp({
    config,
    logger,
    database,
    schema,
    services,
    authenticator,
    rateLimiter,
    expectedMigrations,
  });
  const subscriptions = attachGraphQLWebSocket({ server, schema, services, authenticator, logger, hideSuggestions: isProduction(config) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.PORT, config.HOST, resolve);
  });
  const grpc: GrpcServer | null =
    config.GRPC_PORT === undefined ? null : await startGrpcServer({ config, logger, services, authenticator, rateLimiter }, config.GRPC_PORT);
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    grpcAddress: grpc?.address ?? null,
    database,
    services,
    tokenSettings,
    close: () =>
      (closing ??= (async () => {
        await subscriptions.close(); // open WebSockets would keep the HTTP server from closing
        await Promise.all([
          apollo.stop(), // drains in-flight requests, then closes the HTTP server
          grpc?.close(config.SHUTDOWN_GRACE_MS),
        ]);
        await services.live.stop();
        await services.shadowRunner.stop(); // evaluates what is queued and writes its counts
        await services.runnables.stop();
        await services.inputRecorder.stop();
        await services.executionAudit.close();
        await services.evaluator.close();
        await database.close();
      })()),
  };
}

/** Unset EVALUATION_WORKERS: all cores but one, shared among the WORKERS processes (at least one thread each). */
export const evaluationThreadsPerProcess = (processes: number): number => Math.max(1, Math.floor((availableParallelism() - 1) / processes));

/** Authentication in a span of its own (GraphQL, REST, gRPC and WebSocket connections alike), when tracing is on. */
function traced(authenticator: Authenticator): Authenticator {
  const tracing = telemetry.tracing;
  if (!tracing) return authenticator;
  return {
    authenticate: (headers) =>
      tracing.inSpan("verdict.authenticate", undefined, async (span) => {
        const actor = await authenticator.authenticate(headers);
        span.setAttribute("verdict.actor.kind", actor?.kind ?? "anonymous");
        if (actor) span.setAttribute("verdict.tenant.id", actor.tenantId);
        return actor;
      }),
  };
}

/** The embedded mode signs its own tokens; the secret lives beside the data so tokens survive restarts. */
export async function embeddedSecret(dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, "jwt-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    await mkdir(dataDir, { recursive: true });
    const secret = randomBytes(48).toString("base64url");
    await writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}

import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import path from "node:path";
import { type Config, isProduction } from "./config.js";
import type { Database } from "./database/database.js";
import { readMigrations } from "./database/migrator.js";
import { MIGRATIONS_DIR, openDatabaseFor } from "./database/open.js";
import { buildBareSchema, buildSchema } from "./server/schema.js";
import { createHttpApp } from "./server/app.js";
import type { GrpcServer } from "./grpc/server.js";
import { attachGraphQLWebSocket } from "./server/graphql-ws.js";
import type { TenantActor } from "./identity/actor.js";
import { createTokenVerifier, type TokenSettings } from "./identity/tokens.js";
import type { Logger } from "./logging.js";
import type { Services } from "./services.js";
import { migrateTenantDatabases, TenantDatabases } from "./tenancy/tenant-databases.js";
import { startTenantGraph } from "./tenancy/tenant-graph.js";
import { createRequestRouter, type RequestRouter } from "./tenancy/tenant-routing.js";
import { telemetry } from "./telemetry/tracing.js";

export interface Gateway {
  url: string;
  /** `host:port` of the gRPC execution service, when GRPC_PORT is set. */
  grpcAddress: string | null;
  /** The shared (control) database: the tenant registry and every tenant without a binding. */
  database: Database;
  services: Services;
  /** The dedicated tenants' databases this process has open. */
  tenantDatabases: TenantDatabases;
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

/**
 * `opening`: the database `openDatabaseFor` (database/open.ts) began to open before this module was imported (main.ts does, so that
 * opening the embedded database overlaps loading the gateway's modules); opened here when absent.
 */
export async function startGateway(
  config: Config,
  logger: Logger,
  options: GatewayOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  opening?: Promise<Database>,
): Promise<Gateway> {
  const database = await (opening ?? openDatabaseFor(config, logger));
  const expectedMigrations = (await readMigrations(MIGRATIONS_DIR)).map((m) => m.name);
  const tokenSettings: TokenSettings = {
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL,
    secret: config.AUTH_JWT_SECRET ?? (config.DATABASE_URL ? undefined : await embeddedSecret(config.DATA_DIR)),
  };
  const tokens = createTokenVerifier(tokenSettings);
  const shared = await startTenantGraph(database, tokens, {
    deadlineMs: config.EVALUATION_DEADLINE_MS,
    workers: config.EVALUATION_WORKERS ?? evaluationThreadsPerProcess(config.WORKERS),
  });
  const { services, rateLimiter } = shared;
  if (config.TENANT_DATABASE_MIGRATE_ON_START) {
    // Per database: one that fails is logged and then refused per request (503), the others are served.
    await migrateTenantDatabases(database, env, (report) => {
      if (report.error) logger.warn({ tenantId: report.tenantId, binding: report.binding, error: report.error }, "tenant database not migrated");
      else if (report.applied.length > 0) logger.info({ tenantId: report.tenantId, applied: report.applied }, "tenant database migrated");
    });
  }
  const tenantDatabases = new TenantDatabases(database, {
    env,
    config,
    expectedMigrations,
    tokens,
    evaluator: services.evaluator,
    logger,
  });
  const fixedActor = options.benchmark?.fixedActor;
  const router: RequestRouter = traced(
    fixedActor
      ? { route: async () => ({ actor: fixedActor, services, limiter: rateLimiter, release: () => {} }) }
      : createRequestRouter(shared, tenantDatabases, tokens),
  );
  const schema = options.benchmark?.withoutShield ? buildBareSchema() : buildSchema();
  const { server, apollo } = await createHttpApp({
    config,
    logger,
    database,
    schema,
    services,
    router,
    rateLimiter,
    expectedMigrations,
  });
  const subscriptions = attachGraphQLWebSocket({ server, schema, services, router, logger, hideSuggestions: isProduction(config) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.PORT, config.HOST, resolve);
  });
  // Imported only when configured: gRPC's modules are a noticeable part of start-up that most deployments skip.
  const grpc: GrpcServer | null =
    config.GRPC_PORT === undefined ? null : await (await import("./grpc/server.js")).startGrpcServer({ config, logger, router, rateLimiter }, config.GRPC_PORT);
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    grpcAddress: grpc?.address ?? null,
    database,
    services,
    tenantDatabases,
    tokenSettings,
    close: () =>
      (closing ??= (async () => {
        await subscriptions.close(); // open WebSockets would keep the HTTP server from closing
        await Promise.all([
          apollo.stop(), // drains in-flight requests, then closes the HTTP server
          grpc?.close(config.SHUTDOWN_GRACE_MS),
        ]);
        await tenantDatabases.close();
        await services.evaluator.close();
        await shared.close();
      })()),
  };
}

/** Unset EVALUATION_WORKERS: all cores but one, shared among the WORKERS processes (at least one thread each). */
export const evaluationThreadsPerProcess = (processes: number): number => Math.max(1, Math.floor((availableParallelism() - 1) / processes));

/** Authentication in a span of its own (GraphQL, REST, gRPC and WebSocket connections alike), when tracing is on. */
function traced(router: RequestRouter): RequestRouter {
  const tracing = telemetry.tracing;
  if (!tracing) return router;
  return {
    route: (headers, arrivedAt) =>
      tracing.inSpan("verdict.authenticate", undefined, async (span) => {
        const routed = await router.route(headers, arrivedAt);
        span.setAttribute("verdict.actor.kind", routed?.actor.kind ?? "anonymous");
        if (routed) span.setAttribute("verdict.tenant.id", routed.actor.tenantId);
        return routed;
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

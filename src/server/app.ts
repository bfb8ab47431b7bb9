import http from "node:http";
import { ApolloServer, type ApolloServerPlugin, HeaderMap } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError } from "graphql";
import express, { type NextFunction, type Request, type Response } from "express";
import type { GraphQLSchema } from "graphql";
import type { Config } from "../config.js";
import { isProduction } from "../config.js";
import type { Database } from "../database/database.js";
import { classifyError } from "../errors/classify.js";
import { graphQLCodeFor, httpStatusFor } from "../errors/transport-codes.js";
import { httpErrorFor } from "../http/error-body.js";
import type { GraphQLContext } from "../graphql/context.js";
import { stringifyWithExactJson } from "../shared/exact-numbers.js";
import { keepExactVariables, noteExactNumbers } from "./exact-variables.js";
import { earlyAuthentication, largeGraphqlBodies } from "./large-graphql-body.js";
import { createErrorFormatter } from "../graphql/format-error.js";
import { createLoaders } from "../loaders.js";
import { NoSubscriptionsRule } from "../graphql/request-errors.js";
import { retryAfterOf } from "../errors/domain-error.js";
import type { Logger } from "../logging.js";
import type { Services } from "../services.js";
import type { RequestRouter } from "../tenancy/tenant-routing.js";
import { findDemoExampleIds } from "../demo/demo-example-ids.js";
import { graphiql } from "../http/graphiql.js";
import { healthRoutes } from "../http/health.js";
import { Metrics } from "../http/metrics.js";
import { authenticateAndCount, clientAddressOf, type RateLimiter } from "../http/rate-limit.js";
import { refuseDeclaredOversizeBody } from "../http/lingering-close.js";
import { logRequestFinished, requestContext, requestIdOf } from "../http/request-context.js";
import { openApiDocument } from "../rest/openapi.js";
import { restRoutes } from "../rest/run.routes.js";
import { telemetry, type Tracing } from "../telemetry/tracing.js";

/** Longer documents are refused while parsing (BAD_USER_INPUT), before any validation work. */
const MAX_TOKENS = 2000;

export interface AppDependencies {
  config: Config;
  logger: Logger;
  database: Database;
  schema: GraphQLSchema;
  /** The shared database's graph: anonymous requests (which `GraphQLContext` still needs services for). */
  services: Services;
  /** Authenticates a credential in its tenant's database and hands back the services that serve that tenant. */
  router: RequestRouter;
  /** Shared with the gRPC service: counts requests without a valid credential, by client address. */
  rateLimiter: RateLimiter;
  expectedMigrations: readonly string[];
}

export interface HttpApp {
  server: http.Server;
  apollo: ApolloServer<GraphQLContext>;
  metrics: Metrics;
}

export async function createHttpApp(deps: AppDependencies): Promise<HttpApp> {
  const { config, logger } = deps;
  const production = isProduction(config);
  const app = express();
  app.disable("x-powered-by");
  // No route here answers conditional requests usefully (GraphQL is POST, the rest are tiny), and express would
  // otherwise hash every response body for an ETag.
  app.set("etag", false);
  app.set("trust proxy", "loopback");
  const metrics = new Metrics();
  metrics.observeEvaluations(deps.services.evaluator);
  metrics.observeShadows(deps.services.shadows, (error) => logger.warn({ err: error }, "could not read shadow counters for /metrics"));
  // The REST compatibility shim for execution clients (src/rest/README.md) answers its own routes straight from
  // the server; everything else goes to express.
  const { rateLimiter } = deps;
  const rest = restRoutes({ config, logger, metrics, rateLimiter, router: deps.router });
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (refuseOversizeBody(req, res)) return;
    rest.handle(req, res, () => app(req, res));
  };
  // Read once: with tracing off the server calls `serve` directly and nothing else runs per request.
  const tracing = telemetry.tracing;
  const server = http.createServer(tracing ? (req, res) => tracing.serveHttp(req, res, () => serve(req, res)) : serve);
  // Node's server.close() destroys every "idle" connection, and a connection whose answer has been end()ed counts
  // as idle while megabytes of that answer still wait in its socket buffer: shutdown cut them short. The drain
  // plugin (below) already ends idle connections gracefully — end() flushes before it closes — and hard-closes
  // only after SHUTDOWN_GRACE_MS, so close() is left nothing to destroy.
  server.closeIdleConnections = () => {};
  // A body declared over the limit is refused on every route before routing: read and discarded, then 413.
  const refuseOversizeBody = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    // Checked here first so that the ordinary request makes no request ID (a second one: its route makes its own) and
    // no closure for an answer it will not get.
    if (!(Number(req.headers["content-length"]) > config.BODY_LIMIT_BYTES)) return false;
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(req);
    return refuseDeclaredOversizeBody(req, res, config.BODY_LIMIT_BYTES, requestId, (status) => {
      metrics.observeRequest(req.method ?? "POST", "(body too large)", status, started);
      logRequestFinished(logger, requestId, req.method ?? "POST", req.url ?? "/", status, started);
    });
  };

  const armor = new ApolloArmor({
    maxDepth: { n: 8 },
    maxAliases: { n: 15 },
    costLimit: { maxCost: 5000 },
    // The token limit is graphql-js's own (parseOptions below): armor's is raised outside the parse phase,
    // which Apollo answers with a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 20 },
    // Suggestions are stripped from every message by the error formatter instead (validation and variable
    // coercion alike); armor's own replacement would leave "[Suggestion hidden]?" behind.
    blockFieldSuggestion: { enabled: false },
  });
  const protection = armor.protect();
  // graphql-armor ships CommonJS typings of Apollo's plugin type; the objects are the same at runtime.
  const armorPlugins = protection.plugins as unknown as ApolloServerPlugin<GraphQLContext>[];

  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema,
    introspection: !production,
    csrfPrevention: true,
    // main.ts owns shutdown: drain, close the database, then exit with a status of its own.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: MAX_TOKENS },
    // Run results echo `data` with the client's digits (src/shared/exact-numbers.ts).
    stringifyResult: stringifyWithExactJson,
    validationRules: [...protection.validationRules, NoSubscriptionsRule],
    plugins: [
      ...armorPlugins,
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: config.SHUTDOWN_GRACE_MS }),
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's default cache-control plugin wraps every field resolver of the schema to compute cache hints
      // nothing here sets; every answer is `cache-control: no-store` instead (set with the context, below).
      ApolloServerPluginCacheControlDisabled(),
      ...(tracing ? [nameSpanByOperation(tracing)] : []),
      countErrors(metrics),
    ],
    formatError: createErrorFormatter((error) => logger.error({ err: error }, "unexpected error"), { hideSuggestions: production }),
  });
  await apollo.start();

  app.use(requestContext(logger, app.request));
  app.use(metrics.middleware());
  if (tracing) app.use(nameSpanByRoute(tracing));

  // /graphql first: most requests are GraphQL, and every route above it is matched against each of them.
  const jsonBody = express.json({ limit: config.BODY_LIMIT_BYTES, verify: noteExactNumbers });
  app.use(
    "/graphql",
    // GraphiQL only outside production; there, nothing but the body parsers stand before Apollo.
    ...(production ? [] : [graphiql(true, () => findDemoExampleIds(deps.database))]),
    // Bodies over 64 KiB are parsed in the evaluation pool (large-graphql-body.ts); express.json skips a body read there.
    largeGraphqlBodies({ config, router: deps.router, rateLimiter, evaluator: deps.services.evaluator }),
    jsonBody,
    keepExactVariables,
    expressMiddleware(apollo, {
      context: async ({ req, res }): Promise<GraphQLContext> => {
        // Cached credentials (keys, users, tenant routes) then share one catch-up with announcements per request.
        const arrivedAt = process.hrtime.bigint();
        // Answers (errors included) are per caller: never stored by a cache between client and gateway.
        res.setHeader("cache-control", "no-store");
        try {
          // A large body's request was authenticated (and its database lease taken) before its body was read.
          const early = earlyAuthentication(req);
          if (early !== undefined && "error" in early) throw early.error;
          const routed =
            early !== undefined
              ? early.routed
              : await authenticateAndCount(
                  rateLimiter,
                  config,
                  () => clientAddressOf(req),
                  () => deps.router.route(req.headers, arrivedAt),
                );
          if (!routed) return { requestId: req.id, actor: null, services: deps.services, loaders: createLoaders(deps.services.stores) };
          // The tenant's database stays open until the answer has gone.
          if (early === undefined) res.once("close", routed.release);
          const { actor, services } = routed;
          return { requestId: req.id, actor, services, loaders: createLoaders(services.stores) };
        } catch (error) {
          throw contextError(error);
        }
      },
    }),
  );

  app.use(healthRoutes(deps.database, deps.expectedMigrations, config.DATABASE_TIMEOUT_MS));
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: "NOT_FOUND", message: "No such route" });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = httpErrorFor(error);
    if (status >= 500) req.log.error({ err: error }, "request failed");
    res.status(status).json(body);
  });

  return { server, apollo, metrics };
}

/** Counts GraphQL errors by code; one listener object serves every request (Apollo asks for one per request). */
function countErrors(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  const listener = {
    async didEncounterErrors({ errors }: { errors: readonly GraphQLError[] }) {
      for (const error of errors) metrics.graphqlErrors.inc({ code: String(error.extensions?.code ?? "UNKNOWN") });
    },
  };
  return { requestDidStart: async () => listener };
}

/** GraphQL requests' spans are named by their operation: `query AuditEvents`, `mutation PublishDraft`. */
function nameSpanByOperation(tracing: Tracing): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          // Attribute names of OpenTelemetry's GraphQL conventions (still incubating, so not imported).
          const type = operation.operation;
          tracing.nameRequest(operationName ? `${type} ${operationName}` : type, {
            "graphql.operation.type": type,
            ...(operationName ? { "graphql.operation.name": operationName } : {}),
          });
        },
      };
    },
  };
}

/**
 * The other express routes' spans are named by their route pattern, as /metrics labels them; /graphql keeps
 * its operation's name, and a GraphQL request that never got that far (a bad body, no operation) is
 * `POST /graphql`.
 */
function nameSpanByRoute(tracing: Tracing) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === "/graphql") tracing.nameRequest(`${req.method} /graphql`, { "http.route": "/graphql" });
    res.on("finish", () => {
      const route = (req.route?.path as string | undefined) ?? (req.baseUrl || "unmatched");
      if (route !== "/graphql") tracing.nameRequest(`${req.method} ${route}`, { "http.route": route });
    });
    next();
  };
}

/** Authentication and rate limiting run before execution, so their failures need their HTTP status, code and headers set here. */
function contextError(error: unknown): GraphQLError {
  const domain = classifyError(error);
  if (!domain) return new GraphQLError("Internal server error", { extensions: { code: "INTERNAL_SERVER_ERROR" } });
  const retryAfter = retryAfterOf(domain);
  // Apollo reads `http.headers` as a HeaderMap; graphql-yoga's typings (pulled in by a dependency) declare a record.
  const headers = retryAfter ? (new HeaderMap([["retry-after", String(retryAfter)]]) as unknown as Record<string, string>) : undefined;
  return new GraphQLError(domain.message, {
    extensions: { code: graphQLCodeFor(domain.code), http: { status: httpStatusFor(domain.code), ...(headers ? { headers } : {}) } },
  });
}

import type http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import { randomUUID } from "node:crypto";
import { type DocumentNode, type ExecutionArgs, type GraphQLSchema, GraphQLError, getOperationAST, parse, validate, specifiedRules } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import { type Action, ROLE_ACTIONS, SCOPE_ACTIONS } from "../authorization/actions.js";
import type { GraphQLContext } from "../graphql/context.js";
import { createErrorFormatter } from "../graphql/format-error.js";
import { createLoaders } from "../loaders.js";
import type { TenantActor } from "../identity/actor.js";
import type { Logger } from "../logging.js";
import type { Services } from "../services.js";
import type { RequestRouter } from "../tenancy/tenant-routing.js";

/** Subscriptions one connection may hold at once. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 20;
/** Largest message a client may send (a subscribe message is a small document). */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Credentials are checked again this often, so expired tokens and keys end their connections. */
const RECHECK_INTERVAL_MS = 60_000;
/** Close code when the credential no longer grants what the connection was opened with. */
export const ACCESS_LOST_CLOSE_CODE = CloseCode.Forbidden;

interface Connection {
  socket: WebSocket;
  /** The credential from `connectionParams`, kept to authenticate again. */
  headers: IncomingHttpHeaders;
  actor: TenantActor | null;
  /** The graph serving the actor's tenant (the shared one when anonymous); held open until the connection closes. */
  services: Services;
  release(): void;
  subscriptions: number;
}

type Extra = {
  connection?: Connection;
};

/**
 * GraphQL subscriptions over the graphql-ws protocol on the gateway's own port and path (`/graphql`).
 * The credential travels in `connectionParams` — `{ "Authorization": "Bearer …" }` or `{ "x-api-key": "…" }`,
 * also nested under `headers` as GraphiQL sends it — and is checked like an HTTP request's: a bad one refuses
 * the connection, none leaves it anonymous (each subscription then answers UNAUTHENTICATED). Subscriptions
 * run through the same schema, shield rules and services as queries. Only subscriptions are served here:
 * queries and mutations go over HTTP, where rate limits and request limits apply. A connection is closed
 * when its credential stops working or loses any permission it had (key revoked, role removed, expired).
 */
export function attachGraphQLWebSocket(deps: {
  server: http.Server;
  schema: GraphQLSchema;
  /** The shared database's graph: anonymous connections, and the access announcements of its tenants. */
  services: Services;
  router: RequestRouter;
  logger: Logger;
  /** Production: no "Did you mean …" suggestions, as over HTTP. */
  hideSuggestions: boolean;
}): { close(): Promise<void> } {
  const { schema, services, router, logger } = deps;
  /** Authenticates again and lets go of the tenant's database at once: the connection already holds it. */
  const authenticate = async (headers: IncomingHttpHeaders) => {
    const routed = await router.route(headers);
    routed?.release();
    return routed;
  };
  const wss = new WebSocketServer({ server: deps.server, path: "/graphql", maxPayload: MAX_MESSAGE_BYTES });
  const connections = new Set<Connection>();
  const formatError = createErrorFormatter((error) => logger.error({ err: error }, "unexpected error in a subscription"), {
    hideSuggestions: deps.hideSuggestions,
  });

  const recheck = async (connection: Connection): Promise<void> => {
    if (!connection.actor) return;
    const now = (await authenticate(connection.headers).catch(() => null))?.actor;
    if (!now || lostAccess(connection.actor, now)) {
      connection.socket.close(ACCESS_LOST_CLOSE_CODE, "Forbidden: the credential no longer grants this connection's access");
      return;
    }
    connection.actor = now;
  };
  const recheckTenant = (tenantId: string): void => {
    for (const connection of connections) if (connection.actor?.tenantId === tenantId) void recheck(connection);
  };
  const stopAccessWatch = services.live.onAccessChanged(recheckTenant);
  const timer = setInterval(() => connections.forEach((c) => void recheck(c)), RECHECK_INTERVAL_MS);
  timer.unref();

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema,
      onConnect: async (ctx) => {
        const headers = credentialHeaders(ctx.connectionParams);
        const routed = await router.route(headers).catch(() => null);
        if (!routed && (headers.authorization || headers["x-api-key"])) return false; // a bad credential: 4403
        const connection: Connection = {
          socket: ctx.extra.socket,
          headers,
          actor: routed?.actor ?? null,
          services: routed?.services ?? services,
          release: routed?.release ?? (() => {}),
          subscriptions: 0,
        };
        ctx.extra.connection = connection;
        connections.add(connection);
        return true;
      },
      onClose: (ctx) => {
        if (!ctx.extra.connection) return;
        connections.delete(ctx.extra.connection);
        ctx.extra.connection.release();
      },
      onSubscribe: (ctx, _id, payload) => {
        const connection = ctx.extra.connection!;
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: 2_000 });
        } catch (error) {
          return [badRequest((error as Error).message)];
        }
        const errors = validate(schema, document, specifiedRules);
        if (errors.length > 0) return errors.map((e) => badRequest(e.message));
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        if (!operation) return [badRequest("Name the operation to run")];
        if (operation.operation !== "subscription") return [badRequest("Only subscriptions are served over WebSocket: send queries and mutations over HTTP")];
        if (connection.subscriptions >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [badRequest(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`)];
        }
        connection.subscriptions += 1;
        const contextValue: GraphQLContext = {
          requestId: randomUUID(),
          actor: connection.actor,
          services: connection.services,
          loaders: createLoaders(connection.services.stores),
        };
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue } satisfies ExecutionArgs;
      },
      onComplete: (ctx) => {
        if (ctx.extra.connection) ctx.extra.connection.subscriptions -= 1;
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : result),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)) as unknown as readonly GraphQLError[],
    },
    wss,
  );

  return {
    async close() {
      clearInterval(timer);
      stopAccessWatch();
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const badRequest = (message: string): GraphQLError => new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });

/** The credential headers from `connectionParams`: top level or under `headers`, names in any case. */
function credentialHeaders(params: Record<string, unknown> | undefined): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  const nested = params?.headers && typeof params.headers === "object" ? (params.headers as Record<string, unknown>) : {};
  for (const source of [nested, params ?? {}]) {
    for (const [name, value] of Object.entries(source)) {
      const lower = name.toLowerCase();
      if ((lower === "authorization" || lower === "x-api-key") && typeof value === "string") headers[lower] = value;
    }
  }
  return headers;
}

/** Whether `now` lacks any action `before` had (a role or scope removed), or is someone else. */
function lostAccess(before: TenantActor, now: TenantActor): boolean {
  if (before.kind !== now.kind || before.tenantId !== now.tenantId) return true;
  const actionsOf = (p: TenantActor): Set<Action> =>
    new Set(p.kind === "user" ? p.roles.flatMap((r) => [...ROLE_ACTIONS[r]]) : p.scopes.flatMap((s) => [...SCOPE_ACTIONS[s]]));
  const had = actionsOf(before);
  const has = actionsOf(now);
  return [...had].some((action) => !has.has(action));
}

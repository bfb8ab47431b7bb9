import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { buildSchemaSync, type PubSub } from "type-graphql";
import { permissionsFor } from "./permissions.js";
import { resolvers } from "./resolvers.js";
import { validateArguments } from "../graphql/validate-arguments.js";

/**
 * type-graphql insists on a PubSub once there are subscriptions, even though every subscription here brings
 * its own `subscribe` function (fed by src/modules/live across processes): this one is never used.
 */
export const NO_PUBSUB: PubSub = {
  publish() {
    throw new Error("Subscriptions publish through the audit log, not a PubSub");
  },
  subscribe() {
    throw new Error("Subscriptions subscribe through src/modules/live, not a PubSub");
  },
};

/** The schema without authorization middleware: what `schema.graphql` is printed from. */
export function buildBareSchema(): GraphQLSchema {
  return buildSchemaSync({ resolvers, validateFn: validateArguments, pubSub: NO_PUBSUB });
}

export function buildSchema(): GraphQLSchema {
  const schema = buildBareSchema();
  return applyMiddleware(schema, permissionsFor(schema));
}

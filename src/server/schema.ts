import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { buildSchemaSync } from "type-graphql";
import { permissionsFor } from "./permissions.js";
import { resolvers } from "./resolvers.js";

/** The schema without authorization middleware: what `schema.graphql` is printed from. */
export function buildBareSchema(): GraphQLSchema {
  return buildSchemaSync({ resolvers, validate: { forbidUnknownValues: false } });
}

export function buildSchema(): GraphQLSchema {
  const schema = buildBareSchema();
  return applyMiddleware(schema, permissionsFor(schema));
}

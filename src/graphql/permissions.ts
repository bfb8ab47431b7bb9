import { GraphQLError, type GraphQLSchema, isObjectType } from "graphql";
import { allow, deny, rule, shield } from "graphql-shield";
import type { IRules } from "graphql-shield";
import { unauthenticated } from "../errors/domain-error.js";
import type { GraphQLContext } from "./context.js";

const isAuthenticated = rule({ cache: "contextual" })((_parent, _args, ctx: GraphQLContext) =>
  ctx.principal ? true : unauthenticated(),
);

/**
 * Which root fields a principal may call at all. Resource rules (ownership, visibility, tenant) live in the
 * services, which ask the same authorization module. A root field missing here is denied.
 */
const ROOT_RULES = {
  Query: {
    version: allow,
    viewer: isAuthenticated,
  },
  Mutation: {},
} satisfies IRules;

/**
 * Shield with deny as the fallback for root fields. Fields of ordinary object types are reachable only
 * through a root field that was already allowed, so they are allowed explicitly rather than by fallback.
 */
export function permissionsFor(schema: GraphQLSchema) {
  const rules: Record<string, unknown> = {};
  for (const [typeName, fieldRules] of Object.entries(ROOT_RULES)) {
    if (schema.getType(typeName)) rules[typeName] = fieldRules;
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__") || type.name in ROOT_RULES) continue;
    rules[type.name] = allow;
  }
  return shield(rules as IRules, {
    fallbackRule: deny,
    // Resolver errors (NOT_FOUND, CONFLICT, BAD_USER_INPUT…) must reach the client unchanged.
    allowExternalErrors: true,
    fallbackError: () => new GraphQLError("You are not allowed to do this", { extensions: { code: "FORBIDDEN" } }),
  });
}

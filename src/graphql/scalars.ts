import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { holdsExactDigits, numberKeepingDigits, rememberExactJson, stringifyKeepingDigits, toDoubles } from "../shared/exact-numbers.js";
import { GraphQLJSON as UnboundedJSON, GraphQLJSONObject as UnboundedJSONObject } from "graphql-scalars";
import { deeperThan, isOpaqueJson, MAX_JSON_DEPTH, OPAQUE_JSON } from "../shared/opaque-json.js";

export { MAX_JSON_DEPTH };

const tooDeep = () => new GraphQLError(`JSON input is nested deeper than ${MAX_JSON_DEPTH} levels`, { extensions: { code: "BAD_USER_INPUT" } });

/** Refuses input deeper than MAX_JSON_DEPTH (src/shared/opaque-json.ts says why). */
function assertDepth(value: unknown): void {
  if (deeperThan(value, MAX_JSON_DEPTH)) throw tooDeep();
}

/**
 * An inline literal as JSON, its numbers kept as written when a double would change them (exact-numbers.ts); the
 * AST keeps every number's source text. Variables inside it are their coerced values.
 */
function literalKeepingDigits(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.INT:
    case Kind.FLOAT:
      return numberKeepingDigits(ast.value);
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((item) => literalKeepingDigits(item, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((field) => [field.name.value, literalKeepingDigits(field.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
  }
}

/**
 * graphql-scalars' JSON scalar bounded in depth and echoing numbers as sent (src/shared/exact-numbers.ts): the resolvers get
 * doubles, and the JSON text with the client's digits is remembered for the echo (`echoOf`). Variables hold
 * such numbers as LosslessNumbers when the request body needed it (src/server/exact-variables.ts). A large `data`
 * variable arrives as an OpaqueJson (its bytes, with the client's digits) and stays one.
 */
function bounded(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue(value) {
      // A large variable the evaluation pool parsed (src/server/large-graphql-body.ts): checked there, passed on unread.
      if (isOpaqueJson(value)) {
        if (value[OPAQUE_JSON].tooDeep) throw tooDeep();
        return value;
      }
      assertDepth(value);
      if (!holdsExactDigits(value)) return config.parseValue!(value);
      const parsed = config.parseValue!(toDoubles(value));
      rememberExactJson(parsed, stringifyKeepingDigits(value)!);
      return parsed;
    },
    parseLiteral(ast, variables) {
      const value = config.parseLiteral!(ast, variables);
      assertDepth(value);
      const keepingDigits = literalKeepingDigits(ast, variables);
      if (holdsExactDigits(keepingDigits)) rememberExactJson(value, stringifyKeepingDigits(keepingDigits)!);
      return value;
    },
  });
}

/** The API's JSON scalars: graphql-scalars' own, bounded in depth, echoing numbers with the digits sent. */
export const GraphQLJSON = bounded(UnboundedJSON);
export const GraphQLJSONObject = bounded(UnboundedJSONObject);

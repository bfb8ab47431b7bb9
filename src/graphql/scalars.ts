import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { holdsExactDigits, numberKeepingDigits, rememberExactJson, stringifyKeepingDigits, toDoubles } from "../shared/exact-numbers.js";
import { GraphQLJSON as UnboundedJSON, GraphQLJSONObject as UnboundedJSONObject } from "graphql-scalars";

/**
 * Deeper input than this is refused before any resolver runs. Results echo their input (`data`), and a
 * value nested tens of thousands of levels deep would overflow the stack when the response is serialised.
 * The engine itself reads only 100 levels (its `maxDataDepth`), so no useful input comes near this bound.
 */
export const MAX_JSON_DEPTH = 1_000;

/** Walks without recursion, so the check itself cannot overflow on hostile input. */
function assertDepth(value: unknown): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > MAX_JSON_DEPTH) {
      throw new GraphQLError(`JSON input is nested deeper than ${MAX_JSON_DEPTH} levels`, { extensions: { code: "BAD_USER_INPUT" } });
    }
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
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
 * such numbers as LosslessNumbers when the request body needed it (src/server/exact-variables.ts).
 */
function bounded(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue(value) {
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

import { GraphQLError, GraphQLScalarType } from "graphql";
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

function bounded(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue(value) {
      assertDepth(value);
      return config.parseValue!(value);
    },
    parseLiteral(ast, variables) {
      const value = config.parseLiteral!(ast, variables);
      assertDepth(value);
      return value;
    },
  });
}

/** The API's JSON scalars: graphql-scalars' own, with a bound on how deeply input may nest. */
export const GraphQLJSON = bounded(UnboundedJSON);
export const GraphQLJSONObject = bounded(UnboundedJSONObject);

import { GraphQLError, type ValidationRule } from "graphql";

/**
 * The schema has no subscriptions and HTTP could not carry them: a `subscription` operation is refused while
 * the document is validated (graphql-js would otherwise fail it during execution, as an internal error).
 */
export const NoSubscriptionsRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === "subscription") {
      context.reportError(new GraphQLError("Subscriptions are not supported by this API", { nodes: [node] }));
    }
  },
});

/** graphql-js's "Did you mean …?" tails (fields, arguments, types, enum values, input fields), in every phase. */
const SUGGESTION = /\s*Did you mean\b.*$/s;

/** A message without schema suggestions: with introspection off, they would give the schema away piece by piece. */
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, "");

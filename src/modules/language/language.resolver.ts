import { Arg, Query, Resolver } from "type-graphql";
import { explainPolicy, listOperators, validatePolicy } from "../../engine/index.js";
import { LanguageOperator, RuleExplanation, RuleValidation } from "./language.type.js";

const toValidation = (result: ReturnType<typeof validatePolicy>): RuleValidation =>
  result.ok ? { ok: true, message: null, line: null, column: null } : { ok: false, message: result.message, line: result.line, column: result.column };

/** The policy language's own introspection: answered by the engine, nothing stored is read. */
@Resolver()
export class LanguageResolver {
  @Query(() => RuleValidation, { description: "Checks that a rule text parses and has one golden rule." })
  validateRule(@Arg("rule", () => String) rule: string): RuleValidation {
    return toValidation(validatePolicy(rule));
  }

  @Query(() => RuleExplanation)
  explainRule(@Arg("rule", () => String) rule: string): RuleExplanation {
    const validation = toValidation(validatePolicy(rule));
    const explained = explainPolicy(rule);
    return { validation, structure: "error" in explained ? null : explained };
  }

  @Query(() => [LanguageOperator], { description: "Every operator and all its accepted phrasings." })
  languageOperators(): LanguageOperator[] {
    return listOperators().map((operator) => ({ ...operator, shorthand: operator.shorthand ?? [] }));
  }
}

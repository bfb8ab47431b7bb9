import { GraphQLJSONObject } from "../../graphql/scalars.js";
import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "Whether a rule text parses, and where it does not." })
export class RuleValidation {
  @Field(() => Boolean)
  ok!: boolean;

  @Field(() => String, { nullable: true, description: "'Parse error: --> L:C …' when the text does not parse." })
  message!: string | null;

  @Field(() => Int, { nullable: true })
  line!: number | null;

  @Field(() => Int, { nullable: true })
  column!: number | null;
}

@ObjectType({ description: "An operator of the policy language with every phrasing it accepts." })
export class LanguageOperator {
  @Field(() => String, { description: "The name used in traces, e.g. GreaterThan." })
  name!: string;

  @Field(() => [String])
  phrases!: string[];

  @Field(() => [String], { description: "Shorthand (`->` rules) spellings." })
  shorthand!: string[];

  @Field(() => String)
  description!: string;
}

@ObjectType({ description: "A rule text taken apart: its rules, labels, outcomes and conditions." })
export class RuleExplanation {
  @Field(() => RuleValidation)
  validation!: RuleValidation;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "Rules, golden rule, computed values and references; null when the text does not parse." })
  structure!: object | null;
}

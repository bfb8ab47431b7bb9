import { GraphQLJSON, GraphQLJSONObject } from "../../graphql/scalars.js";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { RecordStatus } from "../resources/resource.types.js";

@ObjectType({ description: "The stored record that produced a decision." })
export class RanRecord {
  @Field(() => ID)
  baseId!: string;

  @Field(() => ID)
  recordId!: string;

  @Field(() => RecordStatus)
  status!: RecordStatus;

  @Field(() => Int, { nullable: true, description: "Null when the draft ran." })
  versionNumber!: number | null;
}

@ObjectType({ description: "Decimal nanoseconds, as strings so they never lose precision." })
export class RunTimings {
  @Field(() => String)
  engineNs!: string;

  @Field(() => String)
  databaseNs!: string;

  @Field(() => String)
  gatewayNs!: string;
}

@ObjectType({ description: "One policy evaluation, in the wire shape of the policy language (docs/language.md#the-response)." })
export class PolicyRunResult {
  @Field(() => Boolean, { description: "The golden rule's value; false whenever error is set." })
  result!: boolean;

  @Field(() => GraphQLJSONObject, { nullable: true })
  trace!: unknown;

  @Field(() => [String], { description: "The policy text split into lines." })
  rule!: string[];

  @Field(() => GraphQLJSON)
  data!: unknown;

  @Field(() => String, { nullable: true, description: "'Parse error: …', 'Evaluation error: …' or 'Type error: …'." })
  error!: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  labels!: Record<string, boolean> | null;

  @Field(() => RanRecord, { nullable: true, description: "Null for an unsaved rule." })
  record!: RanRecord | null;

  @Field(() => RunTimings)
  timings!: RunTimings;
}

@ObjectType()
export class FlowNodeResponse {
  @Field(() => String)
  nodeId!: string;

  @Field(() => String)
  nodeType!: string;

  @Field(() => GraphQLJSONObject, { description: "The node's policy response (without timings)." })
  response!: unknown;

  @Field(() => GraphQLJSONObject, { nullable: true })
  execution!: unknown;
}

@ObjectType({ description: "One flow run (docs/language.md#flow-response)." })
export class FlowRunResult {
  @Field(() => GraphQLJSON, { nullable: true, description: "A boolean, a custom outcome string, null, or a return node's value." })
  result!: unknown;

  @Field(() => [FlowNodeResponse])
  nodeResponse!: FlowNodeResponse[];

  @Field(() => GraphQLJSONObject)
  execution!: unknown;

  @Field(() => RanRecord, { nullable: true, description: "Null for an unsaved flow." })
  record!: RanRecord | null;
}

@ObjectType()
export class StoredTestOutcome {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean)
  passed!: boolean;

  @Field(() => GraphQLJSON, { nullable: true })
  expected!: unknown;

  @Field(() => GraphQLJSON, { nullable: true })
  actual!: unknown;

  @Field(() => String, { nullable: true })
  error!: string | null;
}

@ObjectType()
export class StoredTestReport {
  @Field(() => ID)
  recordId!: string;

  @Field(() => Int)
  passed!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => [StoredTestOutcome])
  outcomes!: StoredTestOutcome[];
}

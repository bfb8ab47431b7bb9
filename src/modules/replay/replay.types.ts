import { ArrayMaxSize, IsOptional, Length, Max, Min } from "class-validator";
import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { GraphQLJSON } from "../../graphql/scalars.js";
import { ConnectionType } from "../../shared/pagination.js";

export const MAX_RETENTION_DAYS = 365;
export const MAX_RECORDED_INPUTS = 100_000;
export const MAX_SAMPLE = 10_000;

@ObjectType({ description: "Whether and how a base keeps the inputs of its runs for replay (off by default)." })
export class RecordingSettings {
  @Field(() => ID)
  baseId!: string;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Int, { description: "Inputs older than this many days are removed." })
  retentionDays!: number;

  @Field(() => Int, { description: "At most this many inputs are kept; the oldest go first." })
  maxInputs!: number;

  @Field(() => [String], { description: 'Dotted data paths (`Person.ssn`) replaced by "[REDACTED]" before an input is stored.' })
  redactPaths!: string[];
}

@InputType()
export class RecordingSettingsInput {
  @Field(() => ID)
  baseId!: string;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Int, { defaultValue: 7 })
  @Min(1)
  @Max(MAX_RETENTION_DAYS)
  retentionDays!: number;

  @Field(() => Int, { defaultValue: 10_000 })
  @Min(1)
  @Max(MAX_RECORDED_INPUTS)
  maxInputs!: number;

  @Field(() => [String], { defaultValue: [] })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 200, { each: true })
  redactPaths!: string[];
}

@InputType()
export class ReplaySample {
  @Field(() => Int, { description: `The base's newest recorded inputs to replay, 1 to ${MAX_SAMPLE}.` })
  @Min(1)
  @Max(MAX_SAMPLE)
  last!: number;
}

@ObjectType({ description: "One recorded input: what the live record answered and what the candidate would." })
export class ReplayedInput {
  @Field(() => ID)
  recordedInputId!: string;

  @Field(() => Date)
  recordedAt!: Date;

  @Field(() => GraphQLJSON, { description: "The input as recorded (redacted paths included)." })
  data!: unknown;

  @Field(() => Boolean, { nullable: true, description: "Null when the base has no live record or it failed." })
  liveResult!: boolean | null;

  @Field(() => String, { nullable: true })
  liveError!: string | null;

  @Field(() => Boolean, { nullable: true })
  candidateResult!: boolean | null;

  @Field(() => String, { nullable: true })
  candidateError!: string | null;

  @Field(() => Boolean)
  changed!: boolean;
}

@ObjectType()
export class ImpactCounts {
  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  same!: number;

  @Field(() => Int)
  trueToFalse!: number;

  @Field(() => Int)
  falseToTrue!: number;

  @Field(() => Int, { description: "Inputs on which either side answered with an error." })
  errors!: number;
}

@ObjectType()
export class ReplayedInputConnection extends ConnectionType(ReplayedInput, "ReplayedInput") {}

@ObjectType({ description: "What a candidate would change on the base's recorded inputs. Nothing is stored or audited." })
export class ImpactPreview {
  @Field(() => ID)
  candidateRecordId!: string;

  @Field(() => ID, { nullable: true, description: "The record runs of the base use now; null if it has none." })
  liveRecordId!: string | null;

  @Field(() => ImpactCounts, { description: "Over the whole sample, not just this page." })
  counts!: ImpactCounts;

  @Field(() => ReplayedInputConnection, { description: "Newest first." })
  inputs!: ReplayedInputConnection;
}

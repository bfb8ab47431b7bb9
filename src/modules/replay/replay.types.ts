import { ArrayMaxSize, IsOptional, Length, Max, Min } from "class-validator";
import { Field, Float, ID, InputType, Int, ObjectType } from "type-graphql";
import { DISAGREEMENTS_KEPT } from "../../stores/shadow.store.js";
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

@InputType()
export class SetShadowInput {
  @Field(() => ID)
  baseId!: string;

  @Field(() => ID, { nullable: true, description: "A draft or version of the same base; null removes the shadow." })
  recordId!: string | null;
}

@ObjectType({ description: "Runs of the base since its shadow was set. Totals over every gateway process, up to a second behind." })
export class ShadowCounts {
  @Field(() => Float, { description: "Runs whose shadow evaluation was compared: agreed + disagreed + errors." })
  runs!: number;

  @Field(() => Float)
  agreed!: number;

  @Field(() => Float, { description: "The shadow answered differently (or the live run failed and the shadow did not)." })
  disagreed!: number;

  @Field(() => Float, { description: "The shadow answered with an error, or its flow failed." })
  errors!: number;

  @Field(() => Float, { description: "Runs not compared: a gateway process was overloaded, or the shadow record no longer exists." })
  dropped!: number;
}

@ObjectType({ description: "One run on which the shadow did not agree with the live answer." })
export class ShadowDisagreement {
  @Field(() => Float, { description: "The how-manieth disagreement or error of this shadow (1, 2, …)." })
  sequence!: number;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => ID)
  liveRecordId!: string;

  @Field(() => ID)
  shadowRecordId!: string;

  @Field(() => GraphQLJSON, { nullable: true, description: "A policy's true/false, a flow's returned value." })
  liveResult!: unknown;

  @Field(() => String, { nullable: true })
  liveError!: string | null;

  @Field(() => GraphQLJSON, { nullable: true })
  shadowResult!: unknown;

  @Field(() => String, { nullable: true })
  shadowError!: string | null;

  @Field(() => GraphQLJSON, {
    nullable: true,
    description: "The run's input, redacted with the base's recording paths; null unless the base records its inputs (configureRecording).",
  })
  data!: unknown;
}

@ObjectType({ description: "The base's shadow record and how its answers compare with the live ones." })
export class ShadowStatus {
  @Field(() => ID)
  baseId!: string;

  @Field(() => ID, { nullable: true, description: "The shadow record; null when the base has none." })
  recordId!: string | null;

  @Field(() => Date, { nullable: true })
  setAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "When a run was last compared." })
  lastRunAt!: Date | null;

  @Field(() => ShadowCounts)
  counts!: ShadowCounts;

  @Field(() => [ShadowDisagreement], { description: `The latest disagreements and shadow errors, newest first (at most ${DISAGREEMENTS_KEPT}).` })
  disagreements!: ShadowDisagreement[];
}

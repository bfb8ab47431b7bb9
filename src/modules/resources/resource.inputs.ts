import { GraphQLJSON } from "../../graphql/scalars.js";
import { ArrayMaxSize, IsOptional, Length, MaxLength, Min, ValidateNested } from "class-validator";
import { Field, ID, InputType, Int } from "type-graphql";
import { BaseKind, RiskLevel } from "../../generated/prisma/enums.js";
import { StoredTestInput } from "./resource.types.js";

/** Upper bounds that keep one record storable and runnable; the engine enforces its own limits too. */
export const MAX_CONTENT_LENGTH = 100_000;
export const MAX_TESTS = 200;

/** The optional parts of a record, shared by creating a base and updating its draft. */
@InputType()
abstract class RecordDetailsInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;

  @Field(() => GraphQLJSON, { nullable: true })
  inputSchema?: unknown;

  @Field(() => [StoredTestInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(MAX_TESTS)
  tests?: StoredTestInput[] | null;
}

@InputType()
export class CreateResourceInput extends RecordDetailsInput {
  @Field(() => String)
  @Length(1, 200)
  name!: string;

  @Field(() => String, { description: "Rule text (policy) or flow definition (flow). May be unfinished: drafts are work in progress." })
  @MaxLength(MAX_CONTENT_LENGTH)
  content!: string;
}

@InputType({ description: "Fields left out keep their value; `description` and `inputSchema` set to null are cleared." })
export class UpdateDraftInput extends RecordDetailsInput {
  @Field(() => ID)
  draftId!: string;

  @Field(() => Int, { description: "The revision you read; a different current revision fails with CONFLICT." })
  @Min(1)
  expectedRevision!: number;

  @Field(() => String, { nullable: true, description: "Renames the base." })
  @IsOptional()
  @Length(1, 200)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(MAX_CONTENT_LENGTH)
  content?: string | null;
}

@InputType({ description: "Publishing although stored tests fail (admins). The reason is kept in the audit event." })
export class PublishOverrideInput {
  @Field(() => String, { description: "Why the failing tests may be ignored. Required." })
  @Length(1, 2_000)
  reason!: string;
}

@InputType()
export class PublishDraftInput {
  @Field(() => ID)
  draftId!: string;

  @Field(() => String, { description: "What this version changes. Required." })
  @Length(1, 10_000)
  description!: string;

  @Field(() => Int, { nullable: true, description: "When given, publishing fails with CONFLICT if the draft changed since." })
  @IsOptional()
  @Min(1)
  expectedRevision?: number | null;

  @Field(() => PublishOverrideInput, { nullable: true, description: "Publish even if the draft's stored tests fail (admins only)." })
  @IsOptional()
  @ValidateNested()
  override?: PublishOverrideInput | null;
}

@InputType()
export class BaseFilter {
  @Field(() => BaseKind, { nullable: true })
  kind?: BaseKind | null;

  @Field(() => ID, { nullable: true, description: "Only bases in this group." })
  groupId?: string | null;

  @Field(() => String, { nullable: true, description: "Case-insensitive part of the name." })
  @IsOptional()
  @MaxLength(200)
  nameContains?: string | null;

  @Field(() => Boolean, { nullable: true })
  hasDraft?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Whether at least one version exists." })
  published?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description: "Admins only: also list other users' never-published bases (by default a listing shows only your own). FORBIDDEN for others.",
  })
  allOwners?: boolean | null;
  @Field(() => [String], { nullable: true, description: "Only bases carrying all of these tags (normalised like stored tags)." })
  tags?: string[] | null;

  @Field(() => [RiskLevel], { nullable: true, description: "Only bases at any of these risk levels." })
  riskLevels?: RiskLevel[] | null;
}

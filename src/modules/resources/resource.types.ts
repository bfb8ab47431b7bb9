import { GraphQLJSON } from "../../graphql/scalars.js";
import { Field, ID, InputType, Int, InterfaceType, ObjectType, registerEnumType } from "type-graphql";
import { BaseKind, Ownership } from "../../generated/prisma/enums.js";
import { ConnectionType } from "../../shared/pagination.js";

registerEnumType(BaseKind, { name: "ResourceKind", description: "A policy (rule text) or a flow (decision tree of policies)." });
registerEnumType(Ownership, {
  name: "Ownership",
  description: "USER_OWNED until the first publish: only the owner lists, edits and publishes it. Then ORGANISATION_OWNED.",
});

export enum RecordStatus {
  DRAFT = "DRAFT",
  PUBLISHED = "PUBLISHED",
}
registerEnumType(RecordStatus, { name: "RecordStatus" });

@ObjectType({ description: "A stored test case: input data and the result it must give." })
export class StoredTest {
  @Field(() => String)
  name!: string;

  @Field(() => GraphQLJSON)
  data!: unknown;

  @Field(() => GraphQLJSON, { description: "A boolean for policies; any flow result for flows." })
  expected!: unknown;

  @Field(() => Date, { nullable: true, description: 'The evaluation time the test pins ("today" for date rules); null runs at the current time.' })
  now?: Date | null;
}

@InputType()
export class StoredTestInput {
  @Field(() => String)
  name!: string;

  @Field(() => GraphQLJSON)
  data!: unknown;

  @Field(() => GraphQLJSON)
  expected!: unknown;

  @Field(() => Date, { nullable: true, description: "Pins the evaluation time, so date-relative policies have stable tests." })
  now?: Date | null;
}

/** The logical resource for its whole life. Field resolvers (draft, versions, owner…) live in base.resolver.ts. */
@ObjectType({ description: "A policy or flow for its whole life: one optional draft and immutable versions." })
export class Base {
  @Field(() => ID)
  id!: string;

  tenantId!: string;

  @Field(() => BaseKind)
  kind!: BaseKind;

  @Field(() => String)
  name!: string;

  @Field(() => Ownership)
  ownership!: Ownership;

  ownerId!: string | null;
  createdById!: string | null;
  updatedById!: string | null;
  latestVersionNumber!: number;
  deletedAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => Date, { nullable: true, description: "When the first version was published." })
  firstPublishedAt!: Date | null;
}

@InterfaceType({
  description: "One concrete draft or version (its ID is the record ID).",
  resolveType: (record: { status?: RecordStatus }) => (record.status === RecordStatus.DRAFT ? "Draft" : "Version"),
})
export abstract class ResourceRecord {
  @Field(() => ID)
  id!: string;

  baseId!: string;
  tenantId!: string;

  @Field(() => RecordStatus)
  status!: RecordStatus;

  @Field(() => Int, { nullable: true, description: "Null for a draft." })
  versionNumber!: number | null;

  @Field(() => String, { description: "The rule text of a policy, or the flow definition of a flow." })
  content!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "JSON schema of the input data." })
  inputSchema!: unknown;

  @Field(() => [StoredTest])
  tests!: StoredTest[];

  createdById!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ implements: ResourceRecord, description: "The one mutable record of a base." })
export class Draft extends ResourceRecord {
  @Field(() => Int, { description: "Pass it back when updating: a stale revision is refused with CONFLICT." })
  revision!: number;

  updatedById!: string | null;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType({ implements: ResourceRecord, description: "An immutable published record." })
export class Version extends ResourceRecord {}

@ObjectType()
export class BaseConnection extends ConnectionType(Base, "Base") {}

import { Field, ID, InputType, ObjectType } from "type-graphql";
import { ConnectionType } from "../../shared/pagination.js";

@ObjectType({ description: "A named set of policy and flow bases, visible to everyone in the tenant." })
export class Group {
  @Field(() => ID)
  id!: string;

  tenantId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  createdById!: string | null;
  updatedById!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class GroupConnection extends ConnectionType(Group, "Group") {}

export const GROUP_NAME_MAX = 200;
export const GROUP_DESCRIPTION_MAX = 2000;

@InputType()
export class CreateGroupInput {
  @Field(() => String, { description: `1 to ${GROUP_NAME_MAX} characters, unique in the tenant.` })
  name!: string;

  @Field(() => String, { nullable: true, description: `Up to ${GROUP_DESCRIPTION_MAX} characters.` })
  description?: string | null;
}

@InputType({ description: "Only the fields given are changed." })
export class UpdateGroupInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

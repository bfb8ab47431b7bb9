import { ArrayMaxSize, ArrayMinSize, IsOptional, Length } from "class-validator";
import { ArgsType, Field, ID, InputType, ObjectType } from "type-graphql";
import { ApiKeyScope, Role } from "../../generated/prisma/enums.js";
import { ConnectionType, PageArgs } from "../../shared/pagination.js";
import { User } from "../viewer/viewer.type.js";

@ObjectType({ description: "An API key of the tenant. The secret is never part of it: it is shown once, at creation." })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "The public part of the key (`vdk_<prefix>_…`), to recognise it in lists and logs." })
  prefix!: string;

  @Field(() => [ApiKeyScope])
  scopes!: ApiKeyScope[];

  @Field(() => ID, {
    nullable: true,
    description:
      "The user who issued it: the key acts on their behalf (what it creates, they own). A key created by another key is issued by that key's user. Null when an operator issued it.",
  })
  createdById!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "Recorded at most once a minute." })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType({ description: "The result of creating an API key: the only time its secret is ever shown." })
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, {
    description: "The full key to send as `x-api-key`. Shown only in this response: it is stored hashed and cannot be shown again.",
  })
  secretShownOnce!: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String)
  @Length(1, 200)
  name!: string;

  @Field(() => [ApiKeyScope], { description: "Only scopes the caller holds itself." })
  @ArrayMinSize(1)
  @ArrayMaxSize(5)
  scopes!: ApiKeyScope[];

  @Field(() => Date, { nullable: true, description: "When the key stops working; must lie in the future." })
  @IsOptional()
  expiresAt?: Date | null;
}

@ArgsType()
export class RoleChangeArgs {
  @Field(() => ID)
  userId!: string;

  @Field(() => [Role], { description: "Only roles the caller holds itself." })
  @ArrayMinSize(1)
  @ArrayMaxSize(5)
  roles!: Role[];
}

@ArgsType()
export class ApiKeyListArgs extends PageArgs {
  @Field(() => Boolean, { defaultValue: false, description: "Include revoked keys." })
  includeRevoked!: boolean;
}

@ObjectType()
export class UserConnection extends ConnectionType(User, "User") {}

@ObjectType()
export class ApiKeyConnection extends ConnectionType(ApiKey, "ApiKey") {}

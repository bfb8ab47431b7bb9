import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { ApiKeyScope, Role } from "../../generated/prisma/enums.js";

registerEnumType(Role, { name: "Role" });
registerEnumType(ApiKeyScope, { name: "ApiKeyScope" });

export enum CredentialKind {
  USER = "USER",
  API_KEY = "API_KEY",
}
registerEnumType(CredentialKind, { name: "CredentialKind" });

@ObjectType()
export class Tenant {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => String)
  name!: string;
}

@ObjectType()
export class User {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [Role])
  roles!: Role[];
}

@ObjectType({ description: "The caller, as the credential identifies it." })
export class Viewer {
  @Field(() => CredentialKind)
  credential!: CredentialKind;

  /** Resolved only when asked for (viewer.resolver.ts), so `{ viewer { credential } }` costs no query. */
  @Field(() => Tenant)
  tenant?: Tenant;

  @Field(() => User, { nullable: true, description: "Null when calling with an API key." })
  user?: User | null;

  @Field(() => [ApiKeyScope], { description: "Scopes of the API key; empty for users." })
  scopes!: ApiKeyScope[];
}

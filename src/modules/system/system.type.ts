import { Field, ObjectType } from "type-graphql";

@ObjectType({ description: "What is serving this request." })
export class ServerVersion {
  @Field(() => String, { description: "The gateway's release." })
  gateway!: string;

  @Field(() => String, { description: "The database server's version string." })
  database!: string;

  @Field(() => String, { nullable: true, description: "The newest applied migration." })
  migration!: string | null;
}

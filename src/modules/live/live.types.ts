import { Field, ID, Int, ObjectType } from "type-graphql";
import { AuditAction } from "../../generated/prisma/enums.js";

@ObjectType({ description: "A change to a policy or flow base, as its audit event records it (without the actor or hashes: those are for auditors)." })
export class BaseChange {
  @Field(() => ID)
  baseId!: string;

  @Field(() => AuditAction, { description: "CREATED, EDITED, DRAFTED, PUBLISHED, DELETED or RESTORED." })
  change!: AuditAction;

  @Field(() => ID, { nullable: true, description: "The draft or version the change made or touched." })
  recordId!: string | null;

  @Field(() => Int, { nullable: true, description: "The version number, for PUBLISHED and DRAFTED." })
  version!: number | null;

  @Field(() => Date)
  occurredAt!: Date;
}

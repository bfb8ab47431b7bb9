import { Field, ID, Int, ObjectType } from "type-graphql";
import { ActorType, ApprovalAction, AuditAction, ChangeRequestState } from "../../generated/prisma/enums.js";

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

@ObjectType({ description: "A change request's state change, as its audit event records it." })
export class ChangeRequestChange {
  @Field(() => ID)
  changeRequestId!: string;

  @Field(() => ApprovalAction, { description: "The governed change the request is for." })
  action!: ApprovalAction;

  @Field(() => ChangeRequestState, { description: "The request's state after this event." })
  state!: ChangeRequestState;

  @Field(() => AuditAction, { description: "APPROVAL_REQUESTED, APPROVED, REJECTED, WITHDRAWN, EXPIRED, STALE or APPLIED." })
  change!: AuditAction;

  @Field(() => ID, { nullable: true })
  baseId!: string | null;

  @Field(() => ActorType)
  actorType!: ActorType;

  @Field(() => ID, { nullable: true, description: "Who made the change: the requester, an approver, or whoever found it expired." })
  actorId!: string | null;

  @Field(() => Date)
  occurredAt!: Date;
}

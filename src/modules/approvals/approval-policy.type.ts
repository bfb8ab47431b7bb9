import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ApprovalAction, Role } from "../../generated/prisma/enums.js";
import { ConnectionType } from "../../shared/pagination.js";
import { MAX_REQUIRED_APPROVALS, POLICY_DESCRIPTION_MAX, POLICY_NAME_MAX } from "./approval-policy.service.js";

registerEnumType(ApprovalAction, { name: "ApprovalAction", description: "A change an approval policy can govern." });

@ObjectType({ description: "Which changes of the tenant need whose approval (four-eyes changes)." })
export class ApprovalPolicy {
  @Field(() => ID)
  id!: string;

  tenantId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => ApprovalAction)
  action!: ApprovalAction;

  @Field(() => String, {
    nullable: true,
    description:
      'A rule in Verdict\'s policy language over the change context (README, "Approvals"); the policy governs a change when it evaluates to true. Null: every change of its action.',
  })
  conditions!: string | null;

  @Field(() => Int, { description: "How many distinct approvers must approve." })
  requiredApprovals!: number;

  @Field(() => [Role], { description: "Users holding any of these roles may approve." })
  approverRoles!: Role[];

  @Field(() => [ID], { description: "These users may approve, whatever their roles." })
  approverUserIds!: string[];

  @Field(() => Boolean, { description: "Whether the requester's own approval counts." })
  allowSelfApprove!: boolean;

  @Field(() => [Role], { description: "Changes by users holding any of these roles skip this policy." })
  bypassRoles!: Role[];

  @Field(() => String, { nullable: true, description: "ISO 8601 duration after which an open request expires; null: never." })
  expiresAfter!: string | null;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Date, { nullable: true, description: "Set while archived: an archived policy governs nothing." })
  archivedAt!: Date | null;

  createdById!: string | null;
  updatedById!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class ApprovalPolicyConnection extends ConnectionType(ApprovalPolicy, "ApprovalPolicy") {}

@InputType()
export class CreateApprovalPolicyInput {
  @Field(() => String, { description: `1 to ${POLICY_NAME_MAX} characters.` })
  name!: string;

  @Field(() => String, { nullable: true, description: `Up to ${POLICY_DESCRIPTION_MAX} characters.` })
  description?: string | null;

  @Field(() => ApprovalAction)
  action!: ApprovalAction;

  @Field(() => String, { nullable: true, description: "Refused with the parse error when it does not parse." })
  conditions?: string | null;

  @Field(() => Int, { nullable: true, description: `1 (default) to ${MAX_REQUIRED_APPROVALS}.` })
  requiredApprovals?: number | null;

  @Field(() => [Role], { nullable: true, description: "At least one role here or one user in approverUserIds." })
  approverRoles?: Role[] | null;

  @Field(() => [ID], { nullable: true, description: "Users of the tenant." })
  approverUserIds?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: "Default false." })
  allowSelfApprove?: boolean | null;

  @Field(() => [Role], { nullable: true })
  bypassRoles?: Role[] | null;

  @Field(() => String, { nullable: true, description: "ISO 8601 duration in weeks, days, hours, minutes, seconds (P2D, PT12H); 1 minute to 366 days." })
  expiresAfter?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Default true." })
  enabled?: boolean | null;
}

@InputType({ description: "Only the fields given are changed; an empty conditions or expiresAfter text clears it." })
export class UpdateApprovalPolicyInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => ApprovalAction, { nullable: true })
  action?: ApprovalAction | null;

  @Field(() => String, { nullable: true })
  conditions?: string | null;

  @Field(() => Int, { nullable: true })
  requiredApprovals?: number | null;

  @Field(() => [Role], { nullable: true })
  approverRoles?: Role[] | null;

  @Field(() => [ID], { nullable: true })
  approverUserIds?: string[] | null;

  @Field(() => Boolean, { nullable: true })
  allowSelfApprove?: boolean | null;

  @Field(() => [Role], { nullable: true })
  bypassRoles?: Role[] | null;

  @Field(() => String, { nullable: true })
  expiresAfter?: string | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;
}

import { createUnionType, Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ActorType, ApprovalAction, ChangeDecision, ChangeRequestState } from "../../generated/prisma/enums.js";
import { GraphQLJSONObject } from "../../graphql/scalars.js";
import { ConnectionType } from "../../shared/pagination.js";
import type { ChangeRequestWithDecisions } from "../../stores/change-request.store.js";
import { CreatedApiKey } from "../identity/identity.type.js";
import { Base, Version } from "../resources/resource.types.js";
import { User } from "../viewer/viewer.type.js";
import { approvalsFor, requirementsOf } from "./change-request.service.js";

registerEnumType(ChangeRequestState, {
  name: "ChangeRequestState",
  description: "PENDING until APPLIED, REJECTED, WITHDRAWN, EXPIRED or STALE (its target changed, so it was not applied).",
});
registerEnumType(ChangeDecision, { name: "ChangeDecision" });

@ObjectType({ description: "One approver's approval or rejection." })
export class ChangeRequestDecision {
  @Field(() => ID)
  approverId!: string;

  @Field(() => ChangeDecision)
  decision!: ChangeDecision;

  @Field(() => String)
  comment!: string;

  @Field(() => Date)
  decidedAt!: Date;
}

@ObjectType({ description: "A matching approval policy's settings when the request was made, and how far it is met." })
export class ChangeRequestRequirement {
  @Field(() => ID)
  approvalPolicyId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  requiredApprovals!: number;

  @Field(() => Int, { description: "Approvals so far from approvers this policy accepts." })
  approvals!: number;
}

@ObjectType({ description: "A governed change waiting for (or done with) approval: exactly what would be applied, and who decided." })
export class ChangeRequest {
  @Field(() => ID)
  id!: string;

  @Field(() => ApprovalAction)
  action!: ApprovalAction;

  @Field(() => ChangeRequestState, { description: "As of now: a pending request whose expiry has passed reads EXPIRED." })
  state!: ChangeRequestState;

  @Field(() => ActorType)
  requesterType!: ActorType;

  @Field(() => ID, { nullable: true, description: "The requesting user or API key." })
  requesterId!: string | null;

  @Field(() => ID, { nullable: true })
  baseId!: string | null;

  @Field(() => GraphQLJSONObject, { description: "What would be applied; for a publish: draftId, revision, description (and the stored tests' verdict)." })
  payload!: Record<string, unknown>;

  @Field(() => [ChangeRequestRequirement])
  requirements!: ChangeRequestRequirement[];

  @Field(() => [ChangeRequestDecision])
  decisions!: ChangeRequestDecision[];

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: "When it left PENDING (null while pending, and for one expired but not yet touched)." })
  closedAt!: Date | null;

  @Field(() => String, { nullable: true, description: "The rejection or withdrawal comment, or why it went stale." })
  comment!: string | null;

  @Field(() => ID, { nullable: true, description: "What applying it made: for a publish, the version's record ID." })
  resultId!: string | null;
}

@ObjectType()
export class ChangeRequestConnection extends ConnectionType(ChangeRequest, "ChangeRequest") {}

@InputType({ description: "Every given criterion must match." })
export class ChangeRequestFilter {
  @Field(() => ChangeRequestState, { nullable: true })
  state?: ChangeRequestState | null;

  @Field(() => ApprovalAction, { nullable: true })
  action?: ApprovalAction | null;

  @Field(() => ID, { nullable: true })
  baseId?: string | null;

  @Field(() => ID, { nullable: true, description: "The requesting user or API key." })
  requester?: string | null;
}

/** A change request is told from the applied result by its `requirements`, which no other result type has. */
const isChangeRequest = (value: object): boolean => "requirements" in value;

export const PublishOutcome = createUnionType({
  name: "PublishOutcome",
  description: "The version published, or — when an approval policy governs the publish — the change request waiting for approval.",
  types: () => [Version, ChangeRequest] as const,
  resolveType: (value) => (isChangeRequest(value) ? "ChangeRequest" : "Version"),
});

export const DeleteOutcome = createUnionType({
  name: "DeleteOutcome",
  description: "The deleted base, or — when an approval policy governs the delete — the change request waiting for approval.",
  types: () => [Base, ChangeRequest] as const,
  resolveType: (value) => (isChangeRequest(value) ? "ChangeRequest" : "Base"),
});

export const TransferOutcome = createUnionType({
  name: "TransferOutcome",
  description: "The base with its new owner, or — when an approval policy governs the transfer — the change request waiting for approval.",
  types: () => [Base, ChangeRequest] as const,
  resolveType: (value) => (isChangeRequest(value) ? "ChangeRequest" : "Base"),
});

export const RestoreOutcome = createUnionType({
  name: "RestoreOutcome",
  description: "The restored base, or — when an approval policy governs the restore — the change request waiting for approval.",
  types: () => [Base, ChangeRequest] as const,
  resolveType: (value) => (isChangeRequest(value) ? "ChangeRequest" : "Base"),
});

export const AssignRolesOutcome = createUnionType({
  name: "AssignRolesOutcome",
  description: "The user with the roles added, or — when an approval policy governs the assignment — the change request waiting for approval.",
  types: () => [User, ChangeRequest] as const,
  resolveType: (value) => (isChangeRequest(value) ? "ChangeRequest" : "User"),
});

export const CreateApiKeyOutcome = createUnionType({
  name: "CreateApiKeyOutcome",
  description:
    "The key and its secret, or — when an approval policy governs it — the change request waiting for approval; once it is applied, its requester receives the secret through claimApprovedApiKey.",
  types: () => [CreatedApiKey, ChangeRequest] as const,
  resolveType: (value) => (isChangeRequest(value) ? "ChangeRequest" : "CreatedApiKey"),
});

/** The GraphQL shape of a stored request, its state read at `now`. */
export function toChangeRequest(row: ChangeRequestWithDecisions, now = new Date()): ChangeRequest {
  const expired = row.state === "PENDING" && row.expiresAt !== null && row.expiresAt <= now;
  return {
    id: row.id,
    action: row.action,
    state: expired ? "EXPIRED" : row.state,
    requesterType: row.requesterType,
    requesterId: row.requesterId,
    baseId: row.baseId,
    payload: publicPayload(row.payload),
    requirements: requirementsOf(row).map((r) => ({
      approvalPolicyId: r.approvalPolicyId,
      name: r.name,
      requiredApprovals: r.requiredApprovals,
      approvals: approvalsFor(row, r),
    })),
    decisions: row.decisions.map((d) => ({ approverId: d.approverId, decision: d.decision, comment: d.comment, decidedAt: d.createdAt })),
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    closedAt: row.closedAt,
    comment: row.comment,
    resultId: row.resultId,
  };
}

/** The payload without the bookkeeping the gateway keeps for itself. */
function publicPayload(payload: unknown): Record<string, unknown> {
  const { requesterUserId: _requester, ...shown } = (payload ?? {}) as Record<string, unknown>;
  return shown;
}

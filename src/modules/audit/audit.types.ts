import { GraphQLJSONObject } from "../../graphql/scalars.js";
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ActorType, AuditAction, AuditResourceKind } from "../../generated/prisma/enums.js";
import { ConnectionType } from "../../shared/pagination.js";

registerEnumType(AuditAction, { name: "AuditAction", description: "What an audit event records." });
registerEnumType(AuditResourceKind, { name: "AuditResourceKind", description: "The kind of thing an audit event is about." });
registerEnumType(ActorType, { name: "ActorType", description: "Who caused an audit event: a user, an API key or the gateway itself." });

@ObjectType({ description: "One entry of the tenant's append-only, hash-chained audit log." })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "Position in the tenant's chain (1, 2, 3…), as a decimal string: it is 64-bit." })
  sequence!: string;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => ActorType)
  actorType!: ActorType;

  @Field(() => ID, { nullable: true, description: "The user or API key ID; null for the system." })
  actorId!: string | null;

  @Field(() => AuditAction)
  action!: AuditAction;

  @Field(() => AuditResourceKind)
  resourceKind!: AuditResourceKind;

  @Field(() => ID, { nullable: true })
  baseId!: string | null;

  @Field(() => ID, { nullable: true, description: "The draft or version record, where relevant." })
  recordId!: string | null;

  @Field(() => Int, { nullable: true })
  version!: number | null;

  @Field(() => ID, { nullable: true })
  groupId!: string | null;

  @Field(() => GraphQLJSONObject)
  detail!: Record<string, unknown>;

  @Field(() => String, { description: "sha256 hex of the previous event's hash followed by this event's RFC 8785 canonical JSON." })
  hash!: string;

  @Field(() => String, { description: "The previous event's hash (64 zeros for the first event)." })
  previousHash!: string;
}

@ObjectType()
export class AuditEventConnection extends ConnectionType(AuditEvent, "AuditEvent") {}

@InputType({ description: "Every given criterion must match." })
export class AuditEventFilter {
  @Field(() => [AuditAction], { nullable: true, description: "Any of these actions." })
  actions?: AuditAction[] | null;

  @Field(() => ID, { nullable: true })
  baseId?: string | null;

  @Field(() => ID, { nullable: true, description: "A user or API key ID." })
  actorId?: string | null;

  @Field(() => Date, { nullable: true, description: "Events at or after this time." })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Events before this time." })
  to?: Date | null;
}

@ObjectType({ description: "The result of recomputing the tenant's audit hash chain from the first event." })
export class AuditChainVerification {
  @Field(() => Boolean)
  valid!: boolean;

  @Field(() => Int, { description: "How many events were checked before the chain ended or broke." })
  checkedEvents!: number;

  @Field(() => String, { nullable: true, description: "Sequence of the first event that is missing, altered or out of place." })
  firstBrokenSequence!: string | null;

  @Field(() => String, { nullable: true, description: "Why the chain is broken; null when it is valid." })
  reason!: string | null;
}

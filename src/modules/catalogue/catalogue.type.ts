import { Length } from "class-validator";
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { BaseKind, RiskLevel } from "../../generated/prisma/enums.js";

registerEnumType(RiskLevel, {
  name: "RiskLevel",
  description: "How much harm a wrong decision of this base can do (seed 001's riskType). New bases are LOW.",
});

/** The catalogue columns of a base row, which the Base object type does not declare itself. */
export interface CatalogueColumns {
  alias: string | null;
  tags: string[];
  riskLevel: RiskLevel;
  lockedAt: Date | null;
  lockedById: string | null;
  lockReason: string | null;
}

@ObjectType({ description: "An admin's lock: the draft cannot be edited, published or replaced and the base cannot be deleted. Runs are unaffected." })
export class BaseLock {
  @Field(() => String)
  reason!: string;

  @Field(() => Date)
  lockedAt!: Date;

  @Field(() => ID, { description: "The user, or the API key, that locked the base." })
  lockedById!: string;
}

@ObjectType({ description: "A policy a flow names in its nodes, resolved now." })
export class PolicyUse {
  @Field(() => String, { description: "The node's policyId as written: a base ID, record ID or alias." })
  reference!: string;

  @Field(() => [String])
  nodeIds!: string[];

  @Field(() => Boolean, { description: "True when the reference names no live policy of the tenant: running the flow would fail at that node." })
  missing!: boolean;

  baseId!: string | null;
  recordId!: string | null;
}

@ObjectType({ description: "A flow record (draft or version) that names this policy in its nodes." })
export class FlowUsage {
  flowId!: string;
  recordId!: string;

  @Field(() => Int, { nullable: true, description: "Null for the flow's draft." })
  versionNumber!: number | null;

  @Field(() => Boolean, { description: "Whether this is the flow's latest version (what runs by base ID)." })
  latest!: boolean;

  @Field(() => String, { description: "How the flow names the policy: its base ID, one of its record IDs, or its alias." })
  reference!: string;

  @Field(() => [String])
  nodeIds!: string[];
}

export enum ImportAction {
  CREATE_BASE = "CREATE_BASE",
  NEW_DRAFT = "NEW_DRAFT",
}
registerEnumType(ImportAction, { name: "ImportAction", description: "What importing a bundled record did (or, in a dry run, would do)." });

export enum ImportMatch {
  MAPPING = "MAPPING",
  ALIAS = "ALIAS",
  ID = "ID",
}
registerEnumType(ImportMatch, { name: "ImportMatch", description: "How a bundled record was matched to an existing base." });

@InputType({ description: "Import a bundled record as the new draft of an existing base." })
export class BundleMappingInput {
  @Field(() => String, { description: "The bundled record: its key (source record ID), its source base ID or its alias." })
  @Length(1, 200)
  source!: string;

  @Field(() => ID, { description: "A base of your tenant, by ID or alias." })
  target!: string;
}

@ObjectType()
export class ImportedRecord {
  @Field(() => String, { description: "The bundled record's key (its source record ID)." })
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => BaseKind)
  kind!: BaseKind;

  @Field(() => ImportAction)
  action!: ImportAction;

  @Field(() => ImportMatch, { nullable: true, description: "Null when a new base is created." })
  matchedBy!: ImportMatch | null;

  @Field(() => ID, { nullable: true, description: "Null in a dry run for a base that would be created." })
  baseId!: string | null;

  @Field(() => ID, { nullable: true, description: "The new draft; null in a dry run." })
  draftId!: string | null;

  @Field(() => Int, { description: "Flow nodes rewritten to the bases their policies became." })
  rewrittenReferences!: number;
}

@ObjectType()
export class ImportReport {
  @Field(() => Boolean, { description: "True when nothing was written." })
  dryRun!: boolean;

  @Field(() => [ImportedRecord])
  records!: ImportedRecord[];
}

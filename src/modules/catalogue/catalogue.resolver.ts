import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { GraphQLJSONObject } from "../../graphql/scalars.js";
import { RiskLevel } from "../../generated/prisma/enums.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { Action, actorFor, actorOf } from "../../graphql/actor.js";
import { User } from "../viewer/viewer.type.js";
import { isListedFor } from "../../authorization/resource-access.js";
import type { Draft, Version } from "../../stores/base.store.js";
import { toDraft, toVersion } from "../resources/record-mapping.js";
import { Base, ResourceRecord } from "../resources/resource.types.js";
import { BaseLock, BundleMappingInput, type CatalogueColumns, FlowUsage, ImportReport, PolicyUse } from "./catalogue.type.js";
import { type FlowUsage as StoredFlowUsage, referencesOf, type ResolvedReference } from "./dependencies.js";

const columns = (base: Base) => base as Base & CatalogueColumns;

/** Aliases, tags, risk levels and locks: catalogue metadata that never creates a version. */
@Resolver()
export class CatalogueResolver {
  @Mutation(() => Base, {
    description:
      "Sets (or with null removes) the base's alias: letters, digits, '-' and '_', at most 64, not UUID-shaped; case-folded. Unique among the tenant's live bases.",
  })
  setBaseAlias(@Arg("baseId", () => ID) baseId: string, @Arg("alias", () => String, { nullable: true }) alias: string | null, @Ctx() ctx: GraphQLContext) {
    return ctx.services.catalogue.setAlias(actorOf(ctx), baseId, alias);
  }

  @Mutation(() => Base, { description: "Adds tags (trimmed, case-folded; at most 20 per base, 50 characters each). Creates no version." })
  addBaseTags(@Arg("baseId", () => ID) baseId: string, @Arg("tags", () => [String]) tags: string[], @Ctx() ctx: GraphQLContext) {
    return ctx.services.catalogue.addTags(actorOf(ctx), baseId, tags);
  }

  @Mutation(() => Base, { description: "Removes tags; tags the base does not carry are ignored. Creates no version." })
  removeBaseTags(@Arg("baseId", () => ID) baseId: string, @Arg("tags", () => [String]) tags: string[], @Ctx() ctx: GraphQLContext) {
    return ctx.services.catalogue.removeTags(actorOf(ctx), baseId, tags);
  }

  @Mutation(() => Base)
  setBaseRiskLevel(@Arg("baseId", () => ID) baseId: string, @Arg("riskLevel", () => RiskLevel) riskLevel: RiskLevel, @Ctx() ctx: GraphQLContext) {
    return ctx.services.catalogue.setRiskLevel(actorOf(ctx), baseId, riskLevel);
  }

  @Mutation(() => Base, { description: "Admins: freezes the draft and the base's deletion until unlocked. Runs are unaffected." })
  lockBase(@Arg("baseId", () => ID) baseId: string, @Arg("reason", () => String) reason: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.catalogue.lock(actorOf(ctx), baseId, reason);
  }

  @Query(() => GraphQLJSONObject, {
    description:
      "One JSON bundle of the base's record (this version, else the latest version, else the draft) and, for a flow, every policy record it uses, each with a SHA-256 of its canonical content. importBundle reads it.",
  })
  exportBase(
    @Arg("id", () => ID, { description: "A base ID or alias." }) id: string,
    @Arg("version", () => Int, { nullable: true }) version: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.transfer.exportBase(actorOf(ctx), id, version);
  }

  @Mutation(() => ImportReport, {
    description:
      "Imports a bundle in one transaction: each record becomes a new base, or a new draft of the base it is mapped to (else of the live base holding its alias, else of its own source base when in this tenant); flow nodes are rewritten. A changed record (checksum), a newer format, a reference cycle or an oversized bundle is refused and nothing is imported. dryRun reports without writing.",
  })
  importBundle(
    @Arg("bundle", () => GraphQLJSONObject) bundle: object,
    @Arg("mapping", () => [BundleMappingInput], { nullable: true }) mapping: BundleMappingInput[] | null,
    @Arg("dryRun", () => Boolean, { defaultValue: false }) dryRun: boolean,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.transfer.importBundle(actorOf(ctx), bundle, mapping ?? [], dryRun);
  }

  @Mutation(() => Base)
  unlockBase(@Arg("baseId", () => ID) baseId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.catalogue.unlock(actorOf(ctx), baseId);
  }
}

@Resolver(() => Base)
export class CatalogueBaseFieldsResolver {
  @FieldResolver(() => String, { nullable: true, description: "Usable wherever the base ID is (GraphQL arguments, REST run routes, flow nodes)." })
  alias(@Root() base: Base) {
    return columns(base).alias;
  }

  @FieldResolver(() => [String], { description: "Sorted." })
  tags(@Root() base: Base) {
    return columns(base).tags;
  }

  @FieldResolver(() => RiskLevel)
  riskLevel(@Root() base: Base) {
    return columns(base).riskLevel;
  }

  @FieldResolver(() => BaseLock, { nullable: true, description: "Null when the base is not locked." })
  lock(@Root() base: Base) {
    const { lockedAt, lockedById, lockReason } = columns(base);
    return lockedAt ? { lockedAt, lockedById, reason: lockReason ?? "" } : null;
  }
}

@Resolver(() => BaseLock)
export class BaseLockFieldsResolver {
  @FieldResolver(() => User, { nullable: true, description: "Null when an API key locked the base." })
  lockedBy(@Root() lock: BaseLock, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.userById.load(lock.lockedById);
  }
}

const toRecord = (row: Draft | Version) => ("revision" in row ? toDraft(row) : toVersion(row));

@Resolver(() => Base)
export class DependencyFieldsResolver {
  @FieldResolver(() => [PolicyUse], {
    description: "For a flow: the policies its runnable record (latest version, else draft) names, resolved now; missing ones marked. Empty for a policy.",
  })
  async uses(@Root() base: Base, @Ctx() ctx: GraphQLContext): Promise<PolicyUse[]> {
    actorFor(ctx, Action.ReadResources);
    if (base.kind !== "FLOW") return [];
    const record = (await ctx.loaders.versionsByBaseId.load(base.id))[0] ?? (await ctx.loaders.draftByBaseId.load(base.id));
    const references = record ? (referencesOf(record.content) ?? []) : [];
    return Promise.all(
      references.map(async ({ reference, nodeIds }) => {
        const resolved = await ctx.loaders.policyByReference.load(`${base.tenantId} ${reference}`);
        return Object.assign(new PolicyUse(), {
          reference,
          nodeIds,
          missing: !resolved,
          baseId: resolved?.base.id ?? null,
          recordId: resolved?.record.id ?? null,
          resolved,
        });
      }),
    );
  }

  @FieldResolver(() => [FlowUsage], {
    description:
      "For a policy: the flows (drafts and versions, each by version) that name it by base ID, record ID or alias, among the flows you may see. Empty for a flow.",
  })
  async usedBy(@Root() base: Base, @Ctx() ctx: GraphQLContext): Promise<FlowUsage[]> {
    const actor = actorFor(ctx, Action.ReadResources);
    if (base.kind !== "POLICY") return [];
    const usages = await ctx.loaders.flowsUsingPolicy.load(`${base.tenantId} ${base.id}`);
    return usages
      .filter((usage) => isListedFor(actor, usage.flow))
      .map((usage) =>
        Object.assign(new FlowUsage(), {
          flowId: usage.flow.id,
          recordId: usage.record.id,
          versionNumber: "number" in usage.record ? usage.record.number : null,
          latest: "number" in usage.record && usage.record.number === usage.flow.latestVersionNumber,
          reference: usage.reference,
          nodeIds: usage.nodeIds,
          usage,
        }),
      );
  }
}

@Resolver(() => PolicyUse)
export class PolicyUseFieldsResolver {
  @FieldResolver(() => Base, { nullable: true, description: "The policy base it names; null when missing." })
  base(@Root() use: PolicyUse & { resolved: ResolvedReference | null }) {
    return use.resolved?.base ?? null;
  }

  @FieldResolver(() => ResourceRecord, {
    nullable: true,
    description: "The record that would run: the exact record, or the base's latest version, else its draft.",
  })
  record(@Root() use: PolicyUse & { resolved: ResolvedReference | null }) {
    return use.resolved ? toRecord(use.resolved.record) : null;
  }
}

@Resolver(() => FlowUsage)
export class FlowUsageFieldsResolver {
  @FieldResolver(() => Base)
  flow(@Root() usage: FlowUsage & { usage: StoredFlowUsage }) {
    return usage.usage.flow;
  }

  @FieldResolver(() => ResourceRecord)
  record(@Root() usage: FlowUsage & { usage: StoredFlowUsage }) {
    return toRecord(usage.usage.record);
  }
}

import { Arg, Args, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver, registerEnumType } from "type-graphql";
import type { GraphQLContext } from "../../graphql/context.js";
import { PageArgs } from "../../shared/pagination.js";
import { actorOf } from "../../graphql/actor.js";
import { BaseFilter, CreateResourceInput, PublishDraftInput, UpdateDraftInput } from "./resource.inputs.js";
import { Base, BaseConnection, Draft, ResourceRecord, Version } from "./resource.types.js";

export enum DiffLineKind {
  ADDED = "ADDED",
  REMOVED = "REMOVED",
  UNCHANGED = "UNCHANGED",
}
registerEnumType(DiffLineKind, { name: "DiffLineKind" });

@ObjectType()
export class DiffLine {
  @Field(() => DiffLineKind)
  kind!: DiffLineKind;

  @Field(() => String)
  text!: string;
}

@ObjectType({ description: "A line diff from `left` to `right`." })
export class RecordComparison {
  @Field(() => ResourceRecord)
  left!: ResourceRecord;

  @Field(() => ResourceRecord)
  right!: ResourceRecord;

  @Field(() => [DiffLine])
  lines!: DiffLine[];
}

@Resolver()
export class ResourceResolver {
  @Query(() => Base, { description: "A policy or flow base by its ID or alias." })
  async base(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Base> {
    const actor = actorOf(ctx);
    return ctx.services.lifecycle.getBase(actor, await ctx.services.catalogue.baseIdFor(actor, id));
  }

  @Query(() => ResourceRecord, { description: "A draft or version by its record ID." })
  record(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ResourceRecord> {
    return ctx.services.lifecycle.getRecord(actorOf(ctx), id);
  }

  @Query(() => BaseConnection, { description: "Bases the caller may see, by name." })
  bases(@Args(() => PageArgs) page: PageArgs, @Arg("filter", () => BaseFilter, { nullable: true }) filter: BaseFilter | null, @Ctx() ctx: GraphQLContext) {
    return ctx.services.lifecycle.listBases(actorOf(ctx), filter ?? {}, page.first, page.after);
  }

  @Query(() => [ResourceRecord], { description: "The base's draft (if any), then its versions, newest first." })
  async records(@Arg("baseId", () => ID, { description: "A base ID or alias." }) baseId: string, @Ctx() ctx: GraphQLContext): Promise<ResourceRecord[]> {
    const actor = actorOf(ctx);
    return ctx.services.lifecycle.listRecords(actor, await ctx.services.catalogue.baseIdFor(actor, baseId));
  }

  @Query(() => RecordComparison, { description: "A line diff of two records' contents." })
  compareRecords(@Arg("leftId", () => ID) leftId: string, @Arg("rightId", () => ID) rightId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.lifecycle.compare(actorOf(ctx), leftId, rightId);
  }

  @Mutation(() => Draft, { description: "A new policy base with its first draft, owned by the caller until published." })
  createPolicy(@Arg("input", () => CreateResourceInput) input: CreateResourceInput, @Ctx() ctx: GraphQLContext): Promise<Draft> {
    return ctx.services.lifecycle.create(actorOf(ctx), "POLICY", input);
  }

  @Mutation(() => Draft, { description: "A new flow base with its first draft, owned by the caller until published." })
  createFlow(@Arg("input", () => CreateResourceInput) input: CreateResourceInput, @Ctx() ctx: GraphQLContext): Promise<Draft> {
    return ctx.services.lifecycle.create(actorOf(ctx), "FLOW", input);
  }

  @Mutation(() => Draft)
  updateDraft(@Arg("input", () => UpdateDraftInput) input: UpdateDraftInput, @Ctx() ctx: GraphQLContext): Promise<Draft> {
    return ctx.services.lifecycle.updateDraft(actorOf(ctx), input);
  }

  @Mutation(() => Version, { description: "Turns the draft into the next version and removes the draft." })
  publishDraft(@Arg("input", () => PublishDraftInput) input: PublishDraftInput, @Ctx() ctx: GraphQLContext): Promise<Version> {
    return ctx.services.lifecycle.publish(actorOf(ctx), input);
  }

  @Mutation(() => Draft, { description: "Copies a version into the draft; an existing draft is replaced only when asked." })
  createDraftFromVersion(
    @Arg("versionId", () => ID) versionId: string,
    @Arg("replaceExisting", () => Boolean, { defaultValue: false }) replaceExisting: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Draft> {
    return ctx.services.lifecycle.draftFromVersion(actorOf(ctx), versionId, replaceExisting);
  }

  @Mutation(() => Base, { description: "Soft-deletes the base of this base ID, alias or record ID, with all its records." })
  async deleteBase(
    @Arg("id", () => ID) id: string,
    @Arg("force", () => Boolean, {
      defaultValue: false,
      description: "Delete a policy even though the latest version of a live flow uses it (otherwise CONFLICT naming the flows).",
    })
    force: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Base> {
    const actor = actorOf(ctx);
    return ctx.services.lifecycle.deleteBase(actor, await ctx.services.catalogue.baseIdFor(actor, id), force);
  }

  @Mutation(() => Base)
  restoreBase(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Base> {
    return ctx.services.lifecycle.restoreBase(actorOf(ctx), id);
  }
}

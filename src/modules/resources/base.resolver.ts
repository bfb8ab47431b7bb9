import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { Action, actorFor } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { User } from "../viewer/viewer.type.js";
import { Base, Draft, ResourceRecord, Version } from "./resource.types.js";

/** Relations of a base, each through a per-request DataLoader. */
@Resolver(() => Base)
export class BaseFieldsResolver {
  @FieldResolver(() => User, { nullable: true, description: "The owning user while USER_OWNED; the former owner afterwards." })
  owner(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return base.ownerId ? ctx.loaders.userById.load(base.ownerId) : null;
  }

  @FieldResolver(() => User, { nullable: true })
  createdBy(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return base.createdById ? ctx.loaders.userById.load(base.createdById) : null;
  }

  @FieldResolver(() => User, { nullable: true })
  updatedBy(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return base.updatedById ? ctx.loaders.userById.load(base.updatedById) : null;
  }

  @FieldResolver(() => Draft, { nullable: true })
  draft(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return ctx.loaders.draftByBaseId.load(base.id);
  }

  @FieldResolver(() => [Version], { description: "Newest first." })
  versions(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return ctx.loaders.versionsByBaseId.load(base.id);
  }

  @FieldResolver(() => Version, { nullable: true })
  async latestVersion(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return (await ctx.loaders.versionsByBaseId.load(base.id))[0] ?? null;
  }

  @FieldResolver(() => ResourceRecord, { nullable: true, description: "What runs by base ID: the latest version, else the draft." })
  async runnableRecord(@Root() base: Base, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return (await ctx.loaders.versionsByBaseId.load(base.id))[0] ?? (await ctx.loaders.draftByBaseId.load(base.id));
  }
}

@Resolver(() => ResourceRecord)
export class RecordFieldsResolver {
  @FieldResolver(() => Base)
  base(@Root() record: ResourceRecord, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return ctx.loaders.baseById.load(record.baseId);
  }

  @FieldResolver(() => User, { nullable: true })
  createdBy(@Root() record: ResourceRecord, @Ctx() ctx: GraphQLContext) {
    actorFor(ctx, Action.ReadResources);
    return record.createdById ? ctx.loaders.userById.load(record.createdById) : null;
  }
}

import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { Action, actorFor, actorOf } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { PageArgs } from "../../shared/pagination.js";
import { BaseConnection } from "../resources/resource.types.js";
import { CreateGroupInput, Group, GroupConnection, UpdateGroupInput } from "./group.type.js";

@Resolver(() => Group)
export class GroupResolver {
  @Query(() => GroupConnection, { description: "The tenant's groups, by name. Everyone in the tenant sees them all." })
  groups(@Args(() => PageArgs) page: PageArgs, @Ctx() ctx: GraphQLContext): Promise<GroupConnection> {
    return ctx.services.groups.list(actorOf(ctx), page);
  }

  @Query(() => Group)
  group(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Group> {
    return ctx.services.groups.get(actorOf(ctx), id);
  }

  @Mutation(() => Group, { description: "Editors and above." })
  createGroup(@Arg("input", () => CreateGroupInput) input: CreateGroupInput, @Ctx() ctx: GraphQLContext): Promise<Group> {
    return ctx.services.groups.create(actorOf(ctx), input);
  }

  @Mutation(() => Group, { description: "Editors and above." })
  updateGroup(@Arg("id", () => ID) id: string, @Arg("input", () => UpdateGroupInput) input: UpdateGroupInput, @Ctx() ctx: GraphQLContext): Promise<Group> {
    return ctx.services.groups.update(actorOf(ctx), id, input);
  }

  @Mutation(() => ID, { description: "Admins only. Removes the group and its memberships, never the bases. Returns the group's ID." })
  deleteGroup(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<string> {
    return ctx.services.groups.delete(actorOf(ctx), id);
  }

  @Mutation(() => Group, { description: "Adds a policy or flow base to a group (editors and above). Adding a member twice changes nothing." })
  async addGroupMember(@Arg("groupId", () => ID) groupId: string, @Arg("baseId", () => ID) baseId: string, @Ctx() ctx: GraphQLContext): Promise<Group> {
    return ctx.services.groups.addMember(actorOf(ctx), groupId, await ctx.services.catalogue.baseIdFor(actorOf(ctx), baseId));
  }

  @Mutation(() => Group, { description: "Removes a base from a group (editors and above). Removing a non-member changes nothing." })
  async removeGroupMember(@Arg("groupId", () => ID) groupId: string, @Arg("baseId", () => ID) baseId: string, @Ctx() ctx: GraphQLContext): Promise<Group> {
    return ctx.services.groups.removeMember(actorOf(ctx), groupId, await ctx.services.catalogue.baseIdFor(actorOf(ctx), baseId));
  }

  @FieldResolver(() => BaseConnection, { description: "Member policies the caller may see in listings, by name; never deleted ones." })
  policies(@Root() group: Group, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: GraphQLContext): Promise<BaseConnection> {
    return members(ctx, group, "POLICY", page);
  }

  @FieldResolver(() => BaseConnection, { description: "Member flows the caller may see in listings, by name; never deleted ones." })
  flows(@Root() group: Group, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: GraphQLContext): Promise<BaseConnection> {
    return members(ctx, group, "FLOW", page);
  }
}

function members(ctx: GraphQLContext, group: Group, kind: "POLICY" | "FLOW", page: PageArgs): Promise<BaseConnection> {
  const actor = actorFor(ctx, Action.ReadResources);
  return ctx.loaders.groupMembers.load({ actor, groupId: group.id, kind, first: page.first, after: page.after ?? null });
}

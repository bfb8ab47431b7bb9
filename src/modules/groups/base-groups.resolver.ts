import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { Action, actorFor } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { Base } from "../resources/resource.types.js";
import { Group } from "./group.type.js";

@Resolver(() => Base)
export class BaseGroupsResolver {
  @FieldResolver(() => [Group], { description: "The groups this base belongs to, by name." })
  async groups(@Root() base: Base, @Ctx() ctx: GraphQLContext): Promise<Group[]> {
    const { tenantId } = actorFor(ctx, Action.ReadResources);
    return (await ctx.loaders.groupsOfBase.load(base.id)).filter((group) => group.tenantId === tenantId);
  }
}

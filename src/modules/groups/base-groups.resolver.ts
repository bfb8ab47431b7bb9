import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { unauthenticated } from "../../errors/domain-error.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { Base } from "../resources/resource.types.js";
import { Group } from "./group.type.js";

@Resolver(() => Base)
export class BaseGroupsResolver {
  @FieldResolver(() => [Group], { description: "The groups this base belongs to, by name." })
  async groups(@Root() base: Base, @Ctx() ctx: GraphQLContext): Promise<Group[]> {
    if (!ctx.principal) throw unauthenticated();
    const tenantId = ctx.principal.tenantId;
    return (await ctx.loaders.groupsOfBase.load(base.id)).filter((group) => group.tenantId === tenantId);
  }
}

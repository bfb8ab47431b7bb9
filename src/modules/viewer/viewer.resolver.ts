import { Ctx, FieldResolver, Query, Resolver } from "type-graphql";
import { unauthenticated } from "../../errors/domain-error.js";
import type { GraphQLContext } from "../../graphql/context.js";
import type { Principal } from "../../identity/principal.js";
import { Tenant, User, Viewer } from "./viewer.type.js";

const principalOf = (ctx: GraphQLContext): Principal => {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal;
};

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer, { description: "Who the caller is." })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return ctx.services.viewer.viewer(principalOf(ctx));
  }

  @FieldResolver(() => Tenant)
  tenant(@Ctx() ctx: GraphQLContext): Promise<Tenant> {
    return ctx.services.viewer.tenant(principalOf(ctx));
  }

  @FieldResolver(() => User, { nullable: true, description: "Null when calling with an API key." })
  user(@Ctx() ctx: GraphQLContext): Promise<User | null> {
    return ctx.services.viewer.user(principalOf(ctx));
  }
}

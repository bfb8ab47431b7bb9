import { Ctx, FieldResolver, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../../graphql/context.js";
import { actorOf } from "../../graphql/actor.js";
import { Tenant, User, Viewer } from "./viewer.type.js";

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer, { description: "Who the caller is." })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return ctx.services.viewer.viewer(actorOf(ctx));
  }

  @FieldResolver(() => Tenant)
  tenant(@Ctx() ctx: GraphQLContext): Promise<Tenant> {
    return ctx.services.viewer.tenant(actorOf(ctx));
  }

  @FieldResolver(() => User, { nullable: true, description: "Null when calling with an API key." })
  user(@Ctx() ctx: GraphQLContext): Promise<User | null> {
    return ctx.services.viewer.user(actorOf(ctx));
  }
}

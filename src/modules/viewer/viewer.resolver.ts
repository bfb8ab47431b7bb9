import { Ctx, Query, Resolver } from "type-graphql";
import { unauthenticated } from "../../errors/domain-error.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { Viewer } from "./viewer.type.js";

@Resolver()
export class ViewerResolver {
  @Query(() => Viewer, { description: "Who the caller is." })
  viewer(@Ctx() ctx: GraphQLContext): Promise<Viewer> {
    if (!ctx.principal) throw unauthenticated();
    return ctx.services.viewer.viewer(ctx.principal);
  }
}

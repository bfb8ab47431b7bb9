import { Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../../graphql/context.js";
import { ServerVersion } from "./system.type.js";

@Resolver()
export class SystemResolver {
  @Query(() => ServerVersion, { description: "The gateway and database versions, read from the database." })
  version(@Ctx() ctx: GraphQLContext): Promise<ServerVersion> {
    return ctx.services.system.version();
  }
}

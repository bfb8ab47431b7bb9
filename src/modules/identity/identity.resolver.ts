import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../../graphql/context.js";
import { PageArgs } from "../../shared/pagination.js";
import { actorOf } from "../../graphql/actor.js";
import { Base } from "../resources/resource.types.js";
import { User } from "../viewer/viewer.type.js";
import { ApiKey, ApiKeyConnection, ApiKeyListArgs, CreateApiKeyInput, CreatedApiKey, RoleChangeArgs, UserConnection } from "./identity.type.js";

@Resolver()
export class IdentityResolver {
  @Query(() => UserConnection, { description: "The tenant's users (admins)." })
  users(@Args(() => PageArgs) { first, after }: PageArgs, @Ctx() ctx: GraphQLContext): Promise<UserConnection> {
    return ctx.services.users.listUsers(actorOf(ctx), first, after);
  }

  @Query(() => ApiKeyConnection, { description: "The tenant's API keys, newest first; secrets are never shown (admins)." })
  apiKeys(@Args(() => ApiKeyListArgs) { first, after, includeRevoked }: ApiKeyListArgs, @Ctx() ctx: GraphQLContext): Promise<ApiKeyConnection> {
    return ctx.services.apiKeys.list(actorOf(ctx), first, after, includeRevoked);
  }

  @Mutation(() => User, { description: "Adds roles to a user of the tenant. Nobody grants a role they do not hold." })
  assignRoles(@Args(() => RoleChangeArgs) { userId, roles }: RoleChangeArgs, @Ctx() ctx: GraphQLContext): Promise<User> {
    const actor = actorOf(ctx);
    return ctx.services.users.assignRoles(actor, actor.tenantId, userId, roles);
  }

  @Mutation(() => User, { description: "Removes roles from a user of the tenant; the last admin keeps ADMIN." })
  removeRoles(@Args(() => RoleChangeArgs) { userId, roles }: RoleChangeArgs, @Ctx() ctx: GraphQLContext): Promise<User> {
    const actor = actorOf(ctx);
    return ctx.services.users.removeRoles(actor, actor.tenantId, userId, roles);
  }

  @Mutation(() => CreatedApiKey, { description: "Issues an API key. Its secret is in this response only." })
  async createApiKey(@Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    const actor = actorOf(ctx);
    const { apiKey, secret } = await ctx.services.apiKeys.create(actor, actor.tenantId, input);
    return { apiKey, secretShownOnce: secret };
  }

  @Mutation(() => ApiKey, { description: "Revokes an API key; the next request with it fails." })
  revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    const actor = actorOf(ctx);
    return ctx.services.apiKeys.revoke(actor, actor.tenantId, id);
  }

  @Mutation(() => Base, { description: "Gives a never-published policy or flow to another user of the tenant (admins)." })
  async transferOwnership(@Arg("baseId", () => ID) baseId: string, @Arg("toUserId", () => ID) toUserId: string, @Ctx() ctx: GraphQLContext): Promise<Base> {
    const actor = actorOf(ctx);
    return ctx.services.ownership.transferOwnership(actor, await ctx.services.catalogue.baseIdFor(actor, baseId), toUserId);
  }
}

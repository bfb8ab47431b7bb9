import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { actorOf } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { PageArgs } from "../../shared/pagination.js";
import type { Connection } from "../../shared/keyset.js";
import { CreateApiKeyInput, CreatedApiKey, RoleChangeArgs } from "../identity/identity.type.js";
import { PublishDraftInput } from "../resources/resource.inputs.js";
import type { User } from "../viewer/viewer.type.js";
import type { Governed } from "../resources/approval-hook.js";
import type { Base, Version } from "../resources/resource.types.js";
import {
  AssignRolesOutcome,
  ChangeRequest,
  ChangeRequestConnection,
  ChangeRequestFilter,
  CreateApiKeyOutcome,
  DeleteOutcome,
  PublishOutcome,
  RestoreOutcome,
  TransferOutcome,
  toChangeRequest,
} from "./change-request.type.js";

@Resolver(() => ChangeRequest)
export class ChangeRequestResolver {
  @Query(() => ChangeRequestConnection, { description: "The tenant's change requests, newest first. Everyone with a role reads them." })
  async changeRequests(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => ChangeRequestFilter, { nullable: true }) filter: ChangeRequestFilter | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connection<ChangeRequest>> {
    const found = await ctx.services.changeRequests.list(actorOf(ctx), filter ?? {}, page);
    const now = new Date();
    return { ...found, edges: found.edges.map((edge) => ({ cursor: edge.cursor, node: toChangeRequest(edge.node, now) })) };
  }

  @Query(() => ChangeRequest)
  async changeRequest(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ChangeRequest> {
    return toChangeRequest(await ctx.services.changeRequests.get(actorOf(ctx), id));
  }

  @Mutation(() => PublishOutcome, {
    description:
      "Publishes the draft like publishDraft, or — when an enabled approval policy governs this publish — answers with a pending change request and publishes nothing yet.",
  })
  async publishDraftWithApproval(
    @Arg("input", () => PublishDraftInput) input: PublishDraftInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Version | ChangeRequest> {
    const actor = actorOf(ctx);
    return outcomeOf(ctx, await ctx.services.lifecycle.publishOrRequest(actor, input, { request: true }));
  }

  @Mutation(() => DeleteOutcome, {
    description: "Deletes like deleteBase, or — when an enabled approval policy governs this delete — answers with a pending change request.",
  })
  async deleteBaseWithApproval(
    @Arg("id", () => ID, { description: "A base ID, alias or record ID." }) id: string,
    @Arg("force", () => Boolean, { defaultValue: false, description: "As for deleteBase." }) force: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Base | ChangeRequest> {
    const actor = actorOf(ctx);
    return outcomeOf(ctx, await ctx.services.lifecycle.deleteOrRequest(actor, await ctx.services.catalogue.baseIdFor(actor, id), force, { request: true }));
  }

  @Mutation(() => TransferOutcome, {
    description: "Transfers like transferOwnership, or — when an enabled approval policy governs this transfer — answers with a pending change request.",
  })
  async transferOwnershipWithApproval(
    @Arg("baseId", () => ID, { description: "A base ID or alias." }) baseId: string,
    @Arg("toUserId", () => ID) toUserId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Base | ChangeRequest> {
    const actor = actorOf(ctx);
    return outcomeOf(
      ctx,
      await ctx.services.ownership.transferOrRequest(actor, await ctx.services.catalogue.baseIdFor(actor, baseId), toUserId, { request: true }),
    );
  }

  @Mutation(() => RestoreOutcome, {
    description: "Restores like restoreBase, or — when an enabled approval policy governs this restore — answers with a pending change request.",
  })
  async restoreBaseWithApproval(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Base | ChangeRequest> {
    return outcomeOf(ctx, await ctx.services.lifecycle.restoreOrRequest(actorOf(ctx), id, { request: true }));
  }

  @Mutation(() => AssignRolesOutcome, {
    description: "Adds roles like assignRoles, or — when an enabled approval policy governs this assignment — answers with a pending change request.",
  })
  async assignRolesWithApproval(@Args(() => RoleChangeArgs) { userId, roles }: RoleChangeArgs, @Ctx() ctx: GraphQLContext): Promise<User | ChangeRequest> {
    return outcomeOf(ctx, await ctx.services.users.assignOrRequest(actorOf(ctx), userId, roles, { request: true }));
  }

  @Mutation(() => CreateApiKeyOutcome, {
    description:
      "Issues a key like createApiKey, or — when an enabled approval policy governs it — answers with a pending change request. The approved key's secret reaches its requester only, through claimApprovedApiKey.",
  })
  async createApiKeyWithApproval(
    @Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreatedApiKey | ChangeRequest> {
    const actor = actorOf(ctx);
    const outcome = await ctx.services.apiKeys.createOrRequest(actor, actor.tenantId, input, { request: true });
    if ("applied" in outcome) return { apiKey: outcome.applied.apiKey, secretShownOnce: outcome.applied.secret };
    return outcomeOf<CreatedApiKey>(ctx, outcome);
  }

  @Mutation(() => CreatedApiKey, {
    description:
      "The secret of the key an applied CREATE_API_KEY change request created, for its requester only and only once: the key authenticates nothing until it is claimed, and its secret is never shown again (CONFLICT).",
  })
  async claimApprovedApiKey(@Arg("changeRequestId", () => ID) changeRequestId: string, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    const { apiKey, secret } = await ctx.services.changeRequests.claimApiKey(actorOf(ctx), changeRequestId);
    return { apiKey, secretShownOnce: secret };
  }

  @Mutation(() => ChangeRequest, {
    description: "Approves as one of the request's approvers; the change is applied when every matching policy is satisfied (CONFLICT when stale or expired).",
  })
  async approveChangeRequest(
    @Arg("id", () => ID) id: string,
    @Arg("comment", () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ChangeRequest> {
    return toChangeRequest(await ctx.services.changeRequests.approve(actorOf(ctx), id, comment));
  }

  @Mutation(() => ChangeRequest, { description: "Rejects as one of the request's approvers, saying why: the request is closed." })
  async rejectChangeRequest(
    @Arg("id", () => ID) id: string,
    @Arg("comment", () => String) comment: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ChangeRequest> {
    return toChangeRequest(await ctx.services.changeRequests.reject(actorOf(ctx), id, comment));
  }

  @Mutation(() => ChangeRequest, { description: "The requester takes a pending request back." })
  async withdrawChangeRequest(
    @Arg("id", () => ID) id: string,
    @Arg("comment", () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ChangeRequest> {
    return toChangeRequest(await ctx.services.changeRequests.withdraw(actorOf(ctx), id, comment));
  }
}

/** The applied result, or the pending change request it became. */
async function outcomeOf<T>(ctx: GraphQLContext, outcome: Governed<T>): Promise<T | ChangeRequest> {
  return "applied" in outcome ? outcome.applied : toChangeRequest(await ctx.services.changeRequests.get(actorOf(ctx), outcome.changeRequestId));
}

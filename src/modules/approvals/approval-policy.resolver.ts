import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { actorOf } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { ApprovalAction } from "../../generated/prisma/enums.js";
import { PageArgs } from "../../shared/pagination.js";
import { ApprovalPolicy, ApprovalPolicyConnection, CreateApprovalPolicyInput, UpdateApprovalPolicyInput } from "./approval-policy.type.js";

@Resolver(() => ApprovalPolicy)
export class ApprovalPolicyResolver {
  @Query(() => ApprovalPolicyConnection, { description: "The tenant's approval policies, oldest first. Everyone with a role reads them." })
  approvalPolicies(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("includeArchived", () => Boolean, { defaultValue: false }) includeArchived: boolean,
    @Arg("action", () => ApprovalAction, { nullable: true }) action: ApprovalAction | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApprovalPolicyConnection> {
    return ctx.services.approvalPolicies.list(actorOf(ctx), { includeArchived, action }, page);
  }

  @Query(() => ApprovalPolicy)
  approvalPolicy(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApprovalPolicy> {
    return ctx.services.approvalPolicies.get(actorOf(ctx), id);
  }

  @Mutation(() => ApprovalPolicy, { description: "Admins only." })
  createApprovalPolicy(@Arg("input", () => CreateApprovalPolicyInput) input: CreateApprovalPolicyInput, @Ctx() ctx: GraphQLContext): Promise<ApprovalPolicy> {
    return ctx.services.approvalPolicies.create(actorOf(ctx), input);
  }

  @Mutation(() => ApprovalPolicy, { description: "Admins only." })
  updateApprovalPolicy(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateApprovalPolicyInput) input: UpdateApprovalPolicyInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApprovalPolicy> {
    return ctx.services.approvalPolicies.update(actorOf(ctx), id, input);
  }

  @Mutation(() => ApprovalPolicy, { description: "Admins only. CONFLICT when already archived." })
  archiveApprovalPolicy(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApprovalPolicy> {
    return ctx.services.approvalPolicies.archive(actorOf(ctx), id);
  }

  @Mutation(() => ApprovalPolicy, { description: "Admins only. CONFLICT when not archived." })
  restoreApprovalPolicy(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApprovalPolicy> {
    return ctx.services.approvalPolicies.restore(actorOf(ctx), id);
  }
}

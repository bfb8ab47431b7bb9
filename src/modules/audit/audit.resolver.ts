import { Arg, Args, Ctx, Query, Resolver } from "type-graphql";
import { actorOf } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { PageArgs } from "../../shared/pagination.js";
import { AuditChainVerification, AuditEventConnection, AuditEventFilter } from "./audit.types.js";

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: "The tenant's audit log, newest first. Admins and auditors only." })
  auditEvents(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => AuditEventFilter, { nullable: true }) filter: AuditEventFilter | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuditEventConnection> {
    return ctx.services.audit.events(actorOf(ctx), { ...page, filter });
  }

  @Query(() => AuditChainVerification, {
    description: "Recomputes the tenant's audit hash chain and reports the first event that was altered or removed. Admins and auditors only.",
  })
  verifyAuditChain(@Ctx() ctx: GraphQLContext): Promise<AuditChainVerification> {
    return ctx.services.audit.verify(actorOf(ctx));
  }
}

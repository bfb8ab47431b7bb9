import { Arg, ID, Resolver, Root, Subscription } from "type-graphql";
import { actorOf } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { AuditEvent } from "../audit/audit.types.js";
import { BaseChange, ChangeRequestChange } from "./live.types.js";

/**
 * Subscriptions over graphql-ws on the gateway's own port (src/http/graphql-ws.ts). Each event is what the
 * subscribe function yields; the field resolvers only pass it on.
 */
@Resolver()
export class LiveResolver {
  @Subscription(() => BaseChange, {
    description: "Changes to one policy or flow base from now on: edited, drafted, published, deleted, restored. Anyone who may read the base.",
    subscribe: ({ args, context }) => (context as GraphQLContext).services.live.baseChanged(actorOf(context as GraphQLContext), args.baseId as string),
  })
  baseChanged(@Root() change: BaseChange, @Arg("baseId", () => ID) _baseId: string): BaseChange {
    return change;
  }

  @Subscription(() => AuditEvent, {
    description: "New events of the tenant's audit log as they are written. Admins and auditors only.",
    subscribe: ({ context }) => (context as GraphQLContext).services.live.auditEvents(actorOf(context as GraphQLContext)),
  })
  auditEvents(@Root() event: AuditEvent): AuditEvent {
    return event;
  }

  @Subscription(() => ChangeRequestChange, {
    description:
      "Change requests' state changes from now on (requested, approved, rejected, withdrawn, expired, stale, applied), of one base or the whole tenant. Everyone with a role.",
    subscribe: ({ args, context }) =>
      (context as GraphQLContext).services.live.changeRequestChanged(actorOf(context as GraphQLContext), (args.baseId as string | null | undefined) ?? null),
  })
  changeRequestChanged(
    @Root() change: ChangeRequestChange,
    @Arg("baseId", () => ID, { nullable: true, description: "Only requests about this base." }) _baseId: string | null,
  ): ChangeRequestChange {
    return change;
  }
}

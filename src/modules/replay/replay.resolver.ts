import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { actorOf } from "../../graphql/actor.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { PageArgs } from "../../shared/pagination.js";
import { ImpactPreview, RecordingSettings, RecordingSettingsInput, ReplaySample, SetShadowInput, ShadowStatus } from "./replay.types.js";

@Resolver()
export class ReplayResolver {
  @Query(() => RecordingSettings, { description: "Whether the base records its run inputs for replay (publishers and admins)." })
  recordingSettings(@Arg("baseId", () => ID) baseId: string, @Ctx() ctx: GraphQLContext): Promise<RecordingSettings> {
    return ctx.services.replay.settings(actorOf(ctx), baseId);
  }

  @Mutation(() => RecordingSettings, { description: "Turns recording of the base's run inputs on or off, with retention, a maximum and redactions (admins)." })
  configureRecording(@Arg("input", () => RecordingSettingsInput) input: RecordingSettingsInput, @Ctx() ctx: GraphQLContext): Promise<RecordingSettings> {
    return ctx.services.replay.configure(actorOf(ctx), input);
  }

  @Query(() => ImpactPreview, {
    description: "What would change: the candidate policy record against the base's newest recorded inputs. Changes and records nothing.",
  })
  previewImpact(
    @Arg("candidateRecordId", () => ID) candidateRecordId: string,
    @Arg("sample", () => ReplaySample) sample: ReplaySample,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("now", () => Date, { nullable: true, description: "Evaluate both sides as if it were this time." }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ImpactPreview> {
    return ctx.services.replay.previewImpact(actorOf(ctx), candidateRecordId, sample.last, page, now);
  }

  @Query(() => ShadowStatus, { description: "The base's shadow record, its agreement counts and latest disagreements (publishers and admins)." })
  shadow(@Arg("baseId", () => ID) baseId: string, @Ctx() ctx: GraphQLContext): Promise<ShadowStatus> {
    return ctx.services.shadows.status(actorOf(ctx), baseId);
  }

  @Mutation(() => ShadowStatus, {
    description: "Names a draft or version of the base that every run of the base also evaluates after answering (publishers and admins); null removes it.",
  })
  setShadow(@Arg("input", () => SetShadowInput) input: SetShadowInput, @Ctx() ctx: GraphQLContext): Promise<ShadowStatus> {
    return ctx.services.shadows.setShadow(actorOf(ctx), input.baseId, input.recordId);
  }
}

import { GraphQLJSON, GraphQLJSONObject } from "../../graphql/scalars.js";
import { Arg, Ctx, ID, Mutation, Resolver } from "type-graphql";
import type { GraphQLContext } from "../../graphql/context.js";
import { actorOf } from "../../graphql/actor.js";
import { echoOf, ExactJson } from "../../shared/exact-numbers.js";
import type { PolicyResponse } from "../../engine/index.js";
import { rawTraceJson } from "./evaluator.js";
import { utf8Text } from "./shared-bytes.js";
import { FlowRunResult, PolicyRunResult, StoredTestReport } from "./execution.types.js";
import type { FlowRun, PolicyRun } from "./run-result.js";

// `data` is echoed with the digits the client sent (as the REST shim does, src/rest/README.md): `echoOf` finds them for the input value.
// Both the trace and the echo are made only when selected (see `echoing`); a run adds its record and timings.
const toPolicyResult = (run: PolicyRun, input: unknown): PolicyRunResult =>
  Object.assign(echoing(run.response, input), {
    record: run.record,
    timings: { engineNs: String(run.timings.engineNs), databaseNs: String(run.timings.databaseNs), gatewayNs: String(run.timings.gatewayNs) },
  });

// Every node gets the run's input data (docs/language.md#flow-execution), so each echoes it as sent.
const toFlowResult = (run: FlowRun, input: unknown): FlowRunResult => ({
  ...run.response,
  nodeResponse: run.response.nodeResponse.map((node) => ({
    ...node,
    response: echoing(node.response, input),
    execution: node.execution ?? null,
  })),
  record: run.record,
});

/**
 * A policy response as GraphQL writes it, its members in the response's order, with the trace and the echo of `data`
 * made only when selected: a trace from the worker pool is written as the text it came as (reading its getter would
 * parse it, only to be serialised again), and a large request's data is kept as bytes (large-data.ts) whose echo
 * decodes them into a string of the data's size on the event loop, which only a mark-compact of the old generation
 * frees again (bench:abuse: ten `runRule { result error }` requests of a megabyte each made the loop's collections
 * 50–70 ms long, for echoes no one asked for). Spreading `response` would read its trace.
 */
function echoing(response: PolicyResponse, input: unknown): PolicyResponse {
  return {
    result: response.result,
    get trace() {
      return traceOf(response) as PolicyResponse["trace"];
    },
    rule: response.rule,
    get data() {
      return echoOf(input, response.data);
    },
    error: response.error,
    labels: response.labels,
  };
}

/** A trace computed in the pool is written out as the JSON text it came as (long ones as UTF-8 bytes: decoded, not parsed). */
function traceOf(response: PolicyResponse): unknown {
  const raw = rawTraceJson(response);
  if (raw === undefined) return response.trace;
  const text = typeof raw === "string" ? raw : utf8Text(raw);
  return text === "null" ? null : new ExactJson(text);
}

const NOW_DESCRIPTION = 'Evaluate as if it were this time ("what would this decide on that date?"); defaults to now.';

@Resolver()
export class ExecutionResolver {
  @Mutation(() => PolicyRunResult, { description: "Runs the base's latest version, else its draft." })
  async runPolicy(
    @Arg("baseId", () => ID) baseId: string,
    @Arg("data", () => GraphQLJSONObject) data: object,
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toPolicyResult(await ctx.services.execution.runPolicy(actorOf(ctx), { by: "base", id: baseId }, data, now), data);
  }

  @Mutation(() => PolicyRunResult, { description: "Runs exactly this draft or version." })
  async runPolicyRecord(
    @Arg("recordId", () => ID) recordId: string,
    @Arg("data", () => GraphQLJSONObject) data: object,
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toPolicyResult(await ctx.services.execution.runPolicy(actorOf(ctx), { by: "record", id: recordId }, data, now), data);
  }

  @Mutation(() => PolicyRunResult, { description: "Runs an unsaved rule text." })
  async runRule(
    @Arg("rule", () => String) rule: string,
    @Arg("data", () => GraphQLJSONObject) data: object,
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toPolicyResult(await ctx.services.execution.runRule(actorOf(ctx), rule, data, now), data);
  }

  @Mutation(() => [PolicyRunResult], { description: "Runs many inputs against the base's runnable record." })
  async runPolicyBatch(
    @Arg("baseId", () => ID) baseId: string,
    @Arg("inputs", () => [GraphQLJSON]) inputs: unknown[],
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return (await ctx.services.execution.runPolicyBatch(actorOf(ctx), { by: "base", id: baseId }, inputs, now)).map((run, i) => toPolicyResult(run, inputs[i]));
  }

  @Mutation(() => FlowRunResult, { description: "Runs the flow base's latest version, else its draft." })
  async runFlow(
    @Arg("baseId", () => ID) baseId: string,
    @Arg("data", () => GraphQLJSONObject) data: object,
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toFlowResult(await ctx.services.execution.runFlow(actorOf(ctx), { by: "base", id: baseId }, data, now), data);
  }

  @Mutation(() => FlowRunResult, { description: "Runs exactly this flow draft or version." })
  async runFlowRecord(
    @Arg("recordId", () => ID) recordId: string,
    @Arg("data", () => GraphQLJSONObject) data: object,
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toFlowResult(await ctx.services.execution.runFlow(actorOf(ctx), { by: "record", id: recordId }, data, now), data);
  }

  @Mutation(() => FlowRunResult, { description: "Runs an unsaved flow definition (YAML or JSON text) against stored policies." })
  async testFlow(
    @Arg("definition", () => String) definition: string,
    @Arg("data", () => GraphQLJSONObject) data: object,
    @Arg("now", () => Date, { nullable: true, description: NOW_DESCRIPTION }) now: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toFlowResult(await ctx.services.execution.testFlow(actorOf(ctx), definition, data, now), data);
  }

  @Mutation(() => StoredTestReport, { description: "Runs a record's stored tests." })
  async runStoredTests(@Arg("recordId", () => ID) recordId: string, @Ctx() ctx: GraphQLContext): Promise<StoredTestReport> {
    const actor = actorOf(ctx);
    const record = await ctx.services.lifecycle.getRecord(actor, recordId);
    const outcomes = await ctx.services.execution.runStoredTests(actor, record.id, record.tests);
    const passed = outcomes.filter((o) => o.passed).length;
    return { recordId: record.id, passed, failed: outcomes.length - passed, outcomes };
  }
}

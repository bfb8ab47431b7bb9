import * as grpc from "@grpc/grpc-js";
import type { Config } from "../config.js";
import { DomainError, DomainErrorCode } from "../errors/domain-error.js";
import { authenticateExecutionClient, type RateLimiter } from "../http/rate-limit.js";
import type { TenantActor } from "../identity/actor.js";
import type { Logger } from "../logging.js";
import { policyExecutionTimings } from "../modules/execution/run-result.js";
import { storedFlow } from "../modules/execution/stored-flow.js";
import type { Services } from "../services.js";
import type { RequestRouter } from "../tenancy/tenant-routing.js";
import { SharedBuffers } from "../modules/execution/shared-bytes.js";
import type { Evaluator } from "../modules/execution/evaluator.js";
import {
  type DecodedData,
  encodedEchoes,
  flowResponseOf,
  runDataOf,
  runResponseOf,
  runTargetOf,
  type FlowResponse,
  type RunFlowRequest,
  type RunPolicyRequest,
  type RunResponse,
} from "./messages.js";
import { executionServiceDefinitions, LargeRequest, UndecodableRequest } from "./proto.js";
import { callFailureFor } from "./status.js";
import { telemetry } from "../telemetry/tracing.js";

export interface GrpcDependencies {
  config: Config;
  logger: Logger;
  /** Authenticates a key in its tenant's database and hands back the services that serve that tenant. */
  router: RequestRouter;
  /** The HTTP server's, for calls without a valid key; a key's allowance (REST, GraphQL and gRPC together) lives in its tenant's database. */
  rateLimiter: RateLimiter;
}

export interface GrpcServer {
  /** `host:port` as clients dial it. */
  address: string;
  /** Refuses new calls, lets calls in flight finish (for at most `graceMs`, then cuts them), and waits for their runs. */
  close(graceMs: number): Promise<void>;
}

/**
 * The gRPC execution service (src/grpc/README.md) on its own port: policy.v1.PolicyService/RunPolicy and
 * policy.v1.FlowService/RunFlow. Each call goes the REST shim's way — authenticate the `x-api-key` and count the
 * call against its allowance, validate the request, then the ExecutionService (authorization, resolution,
 * auditing) — and answers with the REST body's fields and the REST error messages under the status codes of src/grpc/README.md.
 *
 * Cancellation: a call whose client cancelled, or whose deadline passed, before its run started is not run
 * (grpc-js has already answered CANCELLED / DEADLINE_EXCEEDED) and records nothing. A run that started is
 * finished and its `executed` event written even when the answer can no longer be delivered: the event records
 * that a decision was made, and the answer waits for the event to be durable, so a rule of "no event without a
 * delivered answer" could not hold anyway (a client can always leave between the commit and the send). REST
 * behaves the same way for a client that disconnects.
 */
export async function startGrpcServer(deps: GrpcDependencies, port: number): Promise<GrpcServer> {
  const { config, logger } = deps;
  const { PolicyService, FlowService } = executionServiceDefinitions();
  // The REST body limit is the message limit; a bigger message is answered RESOURCE_EXHAUSTED by grpc-js.
  const server = new grpc.Server({ "grpc.max_receive_message_length": config.BODY_LIMIT_BYTES });
  const runsInFlight = new Set<Promise<void>>();
  // Large requests are copied here, after authentication, for the worker that decodes them (reused: see SharedBuffers).
  const buffers = new SharedBuffers(config.BODY_LIMIT_BYTES);

  const unary =
    <Request, Response>(rpc: string, answer: (execution: Services["execution"], actor: TenantActor, request: Request, started: bigint) => Promise<Response>) =>
    (call: grpc.ServerUnaryCall<Request | UndecodableRequest | LargeRequest, Response>, callback: grpc.sendUnaryData<Response>): void => {
      const started = process.hrtime.bigint();
      const finished = (code: grpc.status) => {
        telemetry.tracing?.nameRequest(rpc, { "rpc.grpc.status_code": code });
        if (logger.isLevelEnabled("info"))
          logger.info({ rpc, code: grpc.status[code], durationMs: Number(process.hrtime.bigint() - started) / 1e6 }, "grpc call finished");
      };
      const serve = async (): Promise<void> => {
        let release = (): void => {};
        try {
          const routed = await authenticateExecutionClient(
            deps.rateLimiter,
            config,
            deps.router,
            call.metadata.get("x-api-key")[0],
            () => peerAddress(call.getPeer()),
            started,
          );
          release = routed.release;
          // A large message is decoded now, in the pool and in the tenant's turn: after its key is known and counted.
          const request =
            call.request instanceof LargeRequest
              ? await decodedInPool<Request>(routed.services.evaluator, routed.actor.tenantId, call.request, buffers)
              : call.request;
          if (request instanceof UndecodableRequest) throw new DomainError(DomainErrorCode.InvalidInput, request.reason);
          // See "Cancellation" above. The deadline is compared as well as the flag: on a busy process grpc-js's
          // deadline timer can fire after this point although the deadline has already passed.
          if (call.cancelled || deadlinePassed(call.getDeadline())) return finished(grpc.status.CANCELLED);
          const response = await answer(routed.services.execution, routed.actor, request, started);
          callback(null, response);
          finished(grpc.status.OK);
        } catch (error) {
          const failure = callFailureFor(error);
          if (failure.unexpected) logger.error({ err: error, rpc }, "grpc call failed");
          callback(failure);
          finished(failure.code);
        } finally {
          release();
        }
      };
      // The call's span (named by its method, parented by a `traceparent` metadata entry) only when tracing is on.
      const tracing = telemetry.tracing;
      const run = tracing ? tracing.serveCall(rpc, call.metadata.getMap(), serve) : serve();
      runsInFlight.add(run);
      void run.finally(() => runsInFlight.delete(run));
    };

  server.addService(PolicyService, {
    RunPolicy: unary<RunPolicyRequest, RunResponse>("policy.v1.PolicyService/RunPolicy", async (execution, actor, request, started) => {
      const target = runTargetOf(request.baseId, request.policyId, "policy_id");
      const run = await execution.runPolicy(actor, target, runDataOf(request.data), null, started);
      return runResponseOf(run.response, policyExecutionTimings(run.timings, started));
    }),
  });
  server.addService(FlowService, {
    RunFlow: unary<RunFlowRequest, FlowResponse>("policy.v1.FlowService/RunFlow", async (execution, actor, request, started) => {
      const target = runTargetOf(request.baseId, request.flowId, "flow_id");
      const data = runDataOf(request.data);
      return flowResponseOf(await storedFlow(target.id, (id) => execution.runFlow(actor, { by: target.by, id }, data, null, started)));
    }),
  });

  const host = config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );

  return {
    address: `${host}:${boundPort}`,
    async close(graceMs) {
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(cut);
          resolve();
        });
      });
      // Runs of calls that were cancelled still finish (and write their events) before the database closes.
      await Promise.allSettled([...runsInFlight]);
    },
  };
}

/**
 * A large request decoded by a worker (evaluator.ts, decodeRunRequest), as the handlers take a request decoded here:
 * the same fields, `data` as a LargeData (whose Struct the worker also encoded for the echo: messages.ts) or as the
 * refusal that converting it here would have raised, in the same order of checks.
 */
async function decodedInPool<Request>(
  evaluator: Evaluator,
  tenantId: string,
  large: LargeRequest,
  buffers: SharedBuffers,
): Promise<Request | UndecodableRequest> {
  const bytes = buffers.take(large.bytes.length);
  bytes.set(large.bytes);
  let decoded: Awaited<ReturnType<Evaluator["decodeRunRequest"]>>;
  try {
    decoded = await evaluator.decodeRunRequest(tenantId, { proto: large.proto, type: large.type, bytes });
  } finally {
    buffers.give(bytes);
  }
  if ("undecodable" in decoded) return new UndecodableRequest(decoded.undecodable);
  let data: DecodedData | null = null;
  if (decoded.data !== null && "invalid" in decoded.data) data = new DomainError(DomainErrorCode.InvalidInput, decoded.data.invalid, { field: "data" });
  else if (decoded.data !== null) {
    encodedEchoes.set(decoded.data.value, decoded.data.echo);
    data = decoded.data.value;
  }
  return { ...decoded.fields, data } as Request;
}

/** grpc-js names the peer `address:port` (IPv6 without brackets); rate limits count by address. */
const peerAddress = (peer: string): string => peer.replace(/:\d+$/, "");

function deadlinePassed(deadline: grpc.Deadline): boolean {
  return (deadline instanceof Date ? deadline.getTime() : deadline) <= Date.now();
}

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { EXECUTION_PROTO } from "../../src/grpc/proto.js";

/**
 * A grpc-js client built from the checked-in .proto, as an SDK would be, and the proto3 JSON mapping of its
 * answers (what the Go SDK's users see). The mapping of Struct / Value is written here independently of the
 * server's, so that a mistake in one is not mirrored by the other.
 */
export interface GrpcClients {
  policy: grpc.Client;
  flow: grpc.Client;
  close(): void;
}

/**
 * Client constructors from the .proto through @grpc/proto-loader, the usual way for a grpc-js client (the server
 * reads the same file with protobufjs directly): lowerCamelCase fields, unset fields absent, `oneofs` naming the
 * member of a Value.
 */
export function loadExecutionClients(): { PolicyService: grpc.ServiceClientConstructor; FlowService: grpc.ServiceClientConstructor } {
  const definition = protoLoader.loadSync(EXECUTION_PROTO, { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as any).policy.v1;
}

export function grpcClients(address: string): GrpcClients {
  const { PolicyService, FlowService } = loadExecutionClients();
  const policy = new PolicyService(address, grpc.credentials.createInsecure());
  const flow = new FlowService(address, grpc.credentials.createInsecure());
  return {
    policy,
    flow,
    close() {
      policy.close();
      flow.close();
    },
  };
}

export interface CallOptions {
  key?: string | null;
  /** Milliseconds from now. */
  deadlineMs?: number;
  /** Called with the call as soon as it is sent (to cancel it). */
  onCall?: (call: grpc.ClientUnaryCall) => void;
}

export type CallOutcome<T = any> = { ok: true; response: T; error?: undefined } | { ok: false; error: grpc.ServiceError; response?: undefined };

/** One unary call; resolves with the answer or the status, never rejects. */
export function unary<T = any>(client: grpc.Client, method: "RunPolicy" | "RunFlow", request: object, options: CallOptions = {}): Promise<CallOutcome<T>> {
  const metadata = new grpc.Metadata();
  if (options.key) metadata.set("x-api-key", options.key);
  const callOptions: grpc.CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve) => {
    const call = (client as any)[method](request, metadata, callOptions, (error: grpc.ServiceError | null, response: T) =>
      resolve(error ? { ok: false, error } : { ok: true, response }),
    ) as grpc.ClientUnaryCall;
    options.onCall?.(call);
  });
}

/** A JSON object as the Struct the client sends (proto-loader's object form). */
export function toStruct(object: Record<string, unknown>): object {
  const value = (v: unknown): object => {
    if (v === null) return { nullValue: 0 };
    if (typeof v === "number") return { numberValue: v };
    if (typeof v === "string") return { stringValue: v };
    if (typeof v === "boolean") return { boolValue: v };
    if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
    return { structValue: toStruct(v as Record<string, unknown>) };
  };
  return { fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, value(v)])) };
}

/** proto3 JSON mapping of a decoded Value / Struct: unset ⇒ null. */
export function fromValue(v: any): unknown {
  if (v === undefined || v === null) return null;
  if ("structValue" in v) return fromStruct(v.structValue);
  if ("listValue" in v) return (v.listValue.values ?? []).map(fromValue);
  if ("numberValue" in v) return v.numberValue;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  return null;
}

export function fromStruct(s: any): any {
  if (s === undefined || s === null) return null;
  return Object.fromEntries(Object.entries(s.fields ?? {}).map(([k, v]) => [k, fromValue(v)]));
}

/** A RunResponse as the SDK's JSON: Structs as JSON objects, unset messages null, `error` still a Struct. */
export function runResponseJson(r: any) {
  return {
    result: r.result ?? false,
    trace: fromStruct(r.trace),
    rule: r.rule ?? [],
    data: fromStruct(r.data),
    error: fromStruct(r.error),
    labels: fromStruct(r.labels),
    execution: r.execution ?? null,
  };
}

export function flowResponseJson(r: any) {
  return {
    result: fromValue(r.result),
    nodeResponse: (r.nodeResponse ?? []).map((n: any) => ({
      nodeId: n.nodeId,
      nodeType: n.nodeType,
      response: runResponseJson(n.response),
      execution: n.execution,
    })),
    execution: r.execution,
  };
}

export const statusName = (outcome: CallOutcome): string => (outcome.ok ? "OK" : grpc.status[outcome.error.code]!);

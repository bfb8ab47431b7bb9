import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger, type Logger } from "../../src/logging.js";
import { startTracing } from "../../src/telemetry/start.js";
import { type Tracing, tracingRequested } from "../../src/telemetry/tracing.js";
import { createApiKey, createTenant, fixtures, graphql, op, post, startTestGateway, type TestGateway } from "../support/kit.js";
import { grpcClients, type GrpcClients, toStruct } from "../grpc/support.js";

/**
 * OpenTelemetry traces, end to end: the gateway exports over OTLP/HTTP (JSON) to a receiver started here, as it
 * would to a collector, configured only by the standard OTEL_* variables.
 */

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  service: unknown;
}

const spans: ReceivedSpan[] = [];
const logLines: Record<string, unknown>[] = [];
let receiver: http.Server;
let tracing: Tracing;
let logger: Logger;
let gateway: TestGateway;
let clients: GrpcClients;
let token: string;
let apiKey: string;
let baseId: string;

/** An OTLP attribute value as plain JSON. */
const plainValue = (value: Record<string, unknown>): unknown =>
  "stringValue" in value ? value.stringValue : "intValue" in value ? Number(value.intValue) : "boolValue" in value ? value.boolValue : value.doubleValue;
const attributesOf = (list: { key: string; value: Record<string, unknown> }[] = []) => Object.fromEntries(list.map((a) => [a.key, plainValue(a.value)]));

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      expect(req.url).toBe("/v1/traces");
      expect(req.headers["content-type"]).toBe("application/json");
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = attributesOf(resourceSpans.resource?.attributes)["service.name"];
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? "",
              name: span.name,
              kind: span.kind,
              attributes: attributesOf(span.attributes),
              links: (span.links ?? []).map((l: ReceivedSpan["links"][number]) => ({ traceId: l.traceId, spanId: l.spanId })),
              service,
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "50",
  };
  // The SDK reads the process's environment, as it does in production.
  Object.assign(process.env, env);
  tracing = (await startTracing(process.env))!;
  expect(tracing).not.toBeNull();

  logger = createLogger("info", tracing.logFields, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  gateway = await startTestGateway({ LOG_LEVEL: "info", GRPC_PORT: "0" }, undefined, logger);
  clients = grpcClients(gateway.grpcAddress!);
  const { prisma } = gateway.database;
  const tenant = await createTenant(prisma, { admin: ["ADMIN"] });
  token = await gateway.tokenFor(tenant.users.admin!.subject);
  apiKey = (await createApiKey(prisma, tenant.id, ["VIEW"])).key;
  baseId = (await fixtures(prisma).base(tenant).ownedBy("admin").published().draft(op.AGE_POLICY).create()).id;
});

afterAll(async () => {
  clients?.close();
  await gateway?.stop();
  await tracing?.shutdown();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** Waits until the exporter has delivered a span matching `where` (the batch processor exports every 50 ms). */
async function spanWhere(where: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const found = spans.find(where);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("no such span was exported");
}

const childrenOf = (span: ReceivedSpan) => spans.filter((s) => s.traceId === span.traceId && s.parentSpanId === span.spanId);
const child = (span: ReceivedSpan, name: string) => childrenOf(span).find((s) => s.name === name);
const isStatement = (span: ReceivedSpan) => span.attributes["db.system.name"] === "postgresql" || span.attributes["db.system"] === "postgresql";
function descendantsOf(span: ReceivedSpan): ReceivedSpan[] {
  const direct = childrenOf(span);
  return [...direct, ...direct.flatMap(descendantsOf)];
}

/** Waits for the whole tree under a server span: its audit write's statements are its last spans to end. */
async function requestTree(where: (span: ReceivedSpan) => boolean) {
  const server = await spanWhere(where);
  const record = await spanWhere((s) => s.traceId === server.traceId && s.name === "verdict.audit.record");
  const write = await spanWhere(
    (s) => s.name === "verdict.audit.write" && (s.parentSpanId === record.spanId || s.links.some((l) => l.spanId === record.spanId)),
  );
  await spanWhere((s) => s.parentSpanId === write.spanId && isStatement(s));
  return { server, record, write };
}

it("log lines outside any span carry no trace fields, whatever fields they have", () => {
  // pino merges a line's own fields into the object the mixin returns: a shared or frozen one would break logging.
  logger.info({ tenantId: "t-1" }, "outside any span, first");
  logger.error({ err: new Error("boom") }, "outside any span, second");
  const lines = logLines.filter((l) => String(l.msg).startsWith("outside any span"));
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatchObject({ err: { message: "boom" } });
  expect(lines[1]).not.toHaveProperty("tenantId");
  for (const line of lines) expect(line).not.toHaveProperty("trace_id");
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID = "00f067aa0ba902b7";

it("turns on only when the OTEL_* variables name where traces go", () => {
  expect(tracingRequested({})).toBe(false);
  expect(tracingRequested({ OTEL_SERVICE_NAME: "verdict" })).toBe(false);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(true);
  expect(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp" })).toBe(true);
  expect(tracingRequested({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(false);
  expect(tracingRequested({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(false);
});

it("a GraphQL request is a server span named by its operation, under the caller's traceparent, with authentication, statements, evaluation and the audit write beneath", async () => {
  const response = await graphql(
    gateway.url,
    "mutation CheckApplicant($id: ID!, $data: JSONObject!) { runPolicy(baseId: $id, data: $data) { result error } }",
    { id: baseId, data: { Person: { age: 30 } } },
    { authorization: `Bearer ${token}`, traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`, "x-request-id": "traced-graphql-1" },
  );
  expect(response.errors).toBeUndefined();
  expect(response.data.runPolicy).toEqual({ result: true, error: null });

  const { server, record, write } = await requestTree((s) => s.traceId === TRACE_ID && s.kind === 2);
  // The caller's span is the parent: the gateway joins the caller's trace.
  expect(server).toMatchObject({ name: "mutation CheckApplicant", parentSpanId: PARENT_SPAN_ID, service: "verdict" });
  expect(server.attributes).toMatchObject({
    "graphql.operation.type": "mutation",
    "graphql.operation.name": "CheckApplicant",
    "http.request.method": "POST",
    "http.response.status_code": 200,
    "url.path": "/graphql",
  });
  const authenticate = child(server, "verdict.authenticate");
  expect(authenticate?.attributes).toMatchObject({ "verdict.actor.kind": "user" });
  // The user's row is read on every request: a statement under the authentication span.
  expect(descendantsOf(authenticate!).some(isStatement)).toBe(true);
  const evaluate = descendantsOf(server).find((s) => s.name === "verdict.evaluate");
  expect(evaluate?.attributes["verdict.evaluation.failed"]).toBe(false);
  expect(record.parentSpanId).not.toBe("");
  expect(descendantsOf(server)).toContainEqual(record);
  // Alone, this run's event opens its own batch: the write is the child of its record span.
  expect(write.parentSpanId).toBe(record.spanId);
  expect(write.traceId).toBe(TRACE_ID);
  const statements = descendantsOf(server).filter(isStatement);
  // Prisma's driver adapter (quoted "public". names) and the raw hot-path statements both go through pg.
  expect(statements.some((s) => String(s.attributes["db.query.text"] ?? s.attributes["db.statement"]).includes('"public".'))).toBe(true);
  expect(childrenOf(write).some(isStatement)).toBe(true);

  // The access log line of the request carries its trace ID.
  const line = logLines.find((l) => l.requestId === "traced-graphql-1" && l.msg === "request finished");
  expect(line).toMatchObject({ trace_id: TRACE_ID, span_id: server.spanId });
});

it("a REST run is a server span named by its route, a root when the caller sends no traceparent", async () => {
  const response = await post(
    gateway.url,
    `/run/policy/${baseId}`,
    { data: { Person: { age: 30 } } },
    { key: apiKey, headers: { "x-request-id": "traced-rest-1" } },
  );
  expect(response.status).toBe(200);

  const { server, record, write } = await requestTree((s) => s.kind === 2 && s.name === "POST /run/policy/:baseId");
  expect(server.parentSpanId).toBe("");
  expect(server.attributes).toMatchObject({ "http.route": "/run/policy/:baseId", "http.response.status_code": 200 });
  expect(child(server, "verdict.authenticate")?.attributes).toMatchObject({ "verdict.actor.kind": "apiKey" });
  expect(child(server, "verdict.evaluate")).toBeDefined();
  expect(child(server, "verdict.audit.record")).toEqual(record);
  expect(write.parentSpanId).toBe(record.spanId);
  expect(childrenOf(write).some(isStatement)).toBe(true);

  const line = logLines.find((l) => l.requestId === "traced-rest-1" && l.msg === "request finished");
  expect(line).toMatchObject({ trace_id: server.traceId });
});

it("a gRPC call is a server span named by its method, under the traceparent of its metadata", async () => {
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const metadata = new grpc.Metadata();
  metadata.set("x-api-key", apiKey);
  metadata.set("traceparent", `00-${traceId}-b7ad6b7169203331-01`);
  const outcome = await new Promise<grpc.ServiceError | null>((resolve) =>
    (clients.policy as any).RunPolicy({ baseId, data: toStruct({ Person: { age: 30 } }) }, metadata, (error: grpc.ServiceError | null) => resolve(error)),
  );
  expect(outcome).toBeNull();
  const { server } = await requestTree((s) => s.traceId === traceId && s.kind === 2);
  expect(server).toMatchObject({ name: "policy.v1.PolicyService/RunPolicy", parentSpanId: "b7ad6b7169203331" });
  expect(server.attributes).toMatchObject({ "rpc.system.name": "grpc", "rpc.method": "policy.v1.PolicyService/RunPolicy", "rpc.grpc.status_code": 0 });
  expect(child(server, "verdict.authenticate")).toBeDefined();
  expect(child(server, "verdict.evaluate")).toBeDefined();
});

it("runs whose events share a batch each lead to its write: the first as its parent, the others by links", async () => {
  const runs = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      post(gateway.url, `/run/policy/${baseId}`, { data: { Person: { age: 30 } } }, { key: apiKey, headers: { "x-request-id": `batched-${i}` } }),
    ),
  );
  expect(runs.map((r) => r.status)).toEqual(Array(8).fill(200));
  const traceIds = new Set(logLines.filter((l) => String(l.requestId).startsWith("batched-") && l.msg === "request finished").map((l) => String(l.trace_id)));
  expect(traceIds.size).toBe(8);
  for (const traceId of traceIds) {
    const record = await spanWhere((s) => s.traceId === traceId && s.name === "verdict.audit.record");
    const write = await spanWhere(
      (s) => s.name === "verdict.audit.write" && (s.parentSpanId === record.spanId || s.links.some((l) => l.traceId === traceId && l.spanId === record.spanId)),
    );
    expect(Number(write.attributes["verdict.audit.batch_size"])).toBe(1 + write.links.length);
  }
});

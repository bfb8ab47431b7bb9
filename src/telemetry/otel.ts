import { type Context, context, createContextKey, type Link, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM_NAME,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  RPC_SYSTEM_NAME_VALUE_GRPC,
} from "@opentelemetry/semantic-conventions";
import pg from "pg";
import type { CapturedContext, SpanHandle, Tracing } from "./tracing.js";

/** The request's server span, kept in the context so that code deep in the request can name it. */
const REQUEST_SPAN = createContextKey("verdict.request-span");

/**
 * The OpenTelemetry SDK as the gateway uses it. Loaded only by `startTracing` (tracing.ts), so a gateway
 * without traces never loads any of it.
 *
 * NodeSDK reads the standard variables: `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`
 * (`http/protobuf` by default, `http/json`, `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER[_ARG]`,
 * `OTEL_PROPAGATORS` (W3C trace context and baggage by default), `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_BSP_*`. Only traces: metrics stay Prometheus text at /metrics and logs
 * stay pino lines on stdout (which carry the trace ID), so the SDK's metric and log exporters are not started.
 */
export async function startOpenTelemetry(): Promise<Tracing> {
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, detected at start, take precedence over this default.
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: "verdict" })),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const unpatchPg = instrumentPg();
  const tracer = trace.getTracer("verdict");

  const endWith = (span: Span, error: unknown): void => {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
  };

  const runIn = async <T>(span: Span, work: (span: SpanHandle) => Promise<T>): Promise<T> => {
    try {
      return await work(span);
    } catch (error) {
      endWith(span, error);
      throw error;
    } finally {
      span.end();
    }
  };

  return {
    serveHttp(req, res, handle) {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const method = req.method ?? "GET";
      const url = req.url ?? "/";
      const query = url.indexOf("?");
      // Named by its method until the route or the GraphQL operation is known (nameRequest).
      const span = tracer.startSpan(
        method,
        {
          kind: SpanKind.SERVER,
          // Never the query string: it may carry credentials or data.
          attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: query < 0 ? url : url.slice(0, query), [ATTR_URL_SCHEME]: "http" },
        },
        parent,
      );
      const active = trace.setSpan(parent, span).setValue(REQUEST_SPAN, span);
      // Bodies are read in stream callbacks, which would otherwise run outside the request's context.
      context.bind(active, req);
      context.bind(active, res);
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      };
      // Ended after every other 'finish' listener (express names its route in one), not before.
      res.once("finish", () => queueMicrotask(end));
      res.once("close", () => {
        if (!res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: "connection closed before the answer was sent" });
        queueMicrotask(end);
      });
      context.with(active, handle);
    },

    serveCall(method, metadata, call) {
      const parent = propagation.extract(ROOT_CONTEXT, metadata, {
        keys: (carrier) => Object.keys(carrier),
        get: (carrier, key) => {
          const value = carrier[key];
          return typeof value === "string" ? value : undefined;
        },
      });
      const span = tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_NAME_VALUE_GRPC, [ATTR_RPC_METHOD]: method } },
        parent,
      );
      return context.with(trace.setSpan(parent, span).setValue(REQUEST_SPAN, span), () => runIn(span, call));
    },

    nameRequest(name, attributes) {
      const span = context.active().getValue(REQUEST_SPAN) as Span | undefined;
      if (!span) return;
      span.updateName(name);
      if (attributes) span.setAttributes(attributes);
    },

    inSpan(name, attributes, work) {
      return tracer.startActiveSpan(name, { attributes }, (span) => runIn(span, work));
    },

    capture: () => context.active() as unknown as CapturedContext,

    inSpanOf(name, parent, others, attributes, work) {
      const links: Link[] = [];
      for (const other of others) {
        const linked = trace.getSpanContext(other as unknown as Context);
        if (linked) links.push({ context: linked });
      }
      return tracer.startActiveSpan(name, { attributes, links }, parent as unknown as Context, (span) => runIn(span, work));
    },

    logFields(): Record<string, string> {
      const span = trace.getSpan(context.active());
      // A new object each time: pino merges the line's own fields into what the mixin returns.
      if (!span) return {};
      const { traceId, spanId, traceFlags } = span.spanContext();
      // The field names of OpenTelemetry's own pino instrumentation, which log pipelines already know.
      return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
    },

    async shutdown() {
      unpatchPg();
      await sdk.shutdown();
      // Unregistered, so that a later start in the same process (tests) registers afresh.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * A span per database statement, for Prisma's driver adapter and the raw hot-path queries alike: both go
 * through `pg.Client.prototype.query`. The instrumentation's usual hook patches `pg` when it is `require`d;
 * this gateway is ESM and has imported `pg` already, so its module definition is applied to the loaded module
 * by hand — the same patch, without a loader hook. Statements outside a traced request (LISTEN, the
 * notification catch-up between requests) make no spans.
 */
function instrumentPg(): () => void {
  // `enabled: false`: no require hook; the patch below is the only one.
  const instrumentation = new PgInstrumentation({ enabled: false, requireParentSpan: true, ignoreConnectSpans: true });
  instrumentation.setTracerProvider(trace.getTracerProvider());
  const definition = instrumentation.getModuleDefinitions().find((module) => module.name === "pg");
  definition?.patch?.(pg);
  return () => definition?.unpatch?.(pg);
}

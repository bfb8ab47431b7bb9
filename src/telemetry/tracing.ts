import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * What the gateway's code asks of tracing. Nothing here loads OpenTelemetry: the implementation
 * (`otel.ts`) is imported only by `startTracing` (start.ts), and only when the environment asks for traces. Until then
 * `telemetry.tracing` is null and every call site does one null check, so with tracing off the run path
 * allocates nothing and loads nothing for it.
 */
export interface Tracing {
  /**
   * Serves one HTTP request inside its server span: the parent comes from the request's W3C `traceparent`
   * (when it has one), and the request's and response's event listeners run in the span's context. The span
   * ends when the response is finished.
   */
  serveHttp(req: IncomingMessage, res: ServerResponse, handle: () => void): void;
  /** Runs one gRPC call inside its server span, named by its method; the parent comes from its metadata. */
  serveCall<T>(method: string, metadata: Readonly<Record<string, unknown>>, call: () => Promise<T>): Promise<T>;
  /**
   * Names the current request's server span by what it turned out to be (the REST route, the GraphQL
   * operation): the request span is found from the active context, however deep the caller is.
   */
  nameRequest(name: string, attributes?: SpanAttributes): void;
  /** Runs `work` in a child span of the active one; the span records a thrown error and ends when `work` settles. */
  inSpan<T>(name: string, attributes: SpanAttributes | undefined, work: (span: SpanHandle) => Promise<T>): Promise<T>;
  /** The active context, to carry work across a queue (see `inSpanOf`). */
  capture(): CapturedContext;
  /**
   * Runs `work` in a span whose parent is a context captured earlier (not the active one), linked to other
   * captured contexts: one batch serving many requests.
   */
  inSpanOf<T>(
    name: string,
    parent: CapturedContext,
    links: readonly CapturedContext[],
    attributes: SpanAttributes | undefined,
    work: (span: SpanHandle) => Promise<T>,
  ): Promise<T>;
  /** `trace_id`, `span_id` and `trace_flags` of the active span, for each log line (pino's mixin). */
  logFields(): Record<string, string>;
  /** Exports what is still buffered and stops. */
  shutdown(): Promise<void>;
}

export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

export interface SpanHandle {
  setAttribute(key: string, value: string | number | boolean): void;
}

/** An OpenTelemetry context, opaque to the callers. */
export type CapturedContext = { readonly __captured: unique symbol };

/** The process's tracing: null unless `startTracing` started it. */
export const telemetry: { tracing: Tracing | null } = { tracing: null };

/**
 * Traces are off by default. They are on when the standard OpenTelemetry variables name somewhere to send
 * them — `OTEL_TRACES_EXPORTER` (other than `none`), `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` — and `OTEL_SDK_DISABLED` is not `true`. (The specification's default
 * exporter is OTLP to localhost; a gateway that starts sending spans because nobody configured anything would
 * surprise its operator.)
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters.split(",").some((name) => name.trim() !== "none");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

import { type Tracing, telemetry, tracingRequested } from "./tracing.js";

/**
 * Starts the OpenTelemetry SDK (exporter, sampler, propagators, resource from the `OTEL_*` variables) and
 * makes it the process's tracing; null when the environment does not ask for traces.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing | null> {
  if (!tracingRequested(env)) return null;
  const { startOpenTelemetry } = await import("./otel.js");
  const tracing = await startOpenTelemetry();
  telemetry.tracing = tracing;
  const shutdown = tracing.shutdown;
  tracing.shutdown = async () => {
    if (telemetry.tracing === tracing) telemetry.tracing = null;
    await shutdown();
  };
  return tracing;
}

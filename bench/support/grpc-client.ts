/**
 * The gRPC load generator of bench/support/grpc-load.ts, run as a child process: one grpc-js channel (as an SDK
 * client holds one connection) keeping `connections` RunPolicy calls in flight for `seconds`, then printing
 * the counts and latency percentiles (ms) as JSON on stdout. Like autocannon for REST, it sends a request
 * encoded once and does not decode the answers (only their status), so the client's own decoding does not cap
 * the figures; the benchmark checks one decoded answer before it starts.
 */
import * as grpc from "@grpc/grpc-js";
import { loadExecutionClients, toStruct } from "../../test/grpc/support.js";

const options = JSON.parse(process.argv[2]!) as {
  address: string;
  key: string;
  request: { baseId: string; data: Record<string, unknown> };
  connections: number;
  seconds: number;
};

const { PolicyService } = loadExecutionClients();
const method = PolicyService.service.RunPolicy!;
const client = new grpc.Client(options.address, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set("x-api-key", options.key);
const encoded = method.requestSerialize({ baseId: options.request.baseId, data: toStruct(options.request.data) });
const raw = (bytes: Buffer) => bytes;

const latencies: number[] = [];
let ok = 0;
let errors = 0;
let firstError: string | null = null;
let decodedResult: unknown = null;

await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())));
const started = performance.now();
const endAt = started + options.seconds * 1000;

async function worker(): Promise<void> {
  while (performance.now() < endAt) {
    const t0 = performance.now();
    const [error, answer] = await new Promise<[grpc.ServiceError | null, Buffer | undefined]>((resolve) =>
      client.makeUnaryRequest(method.path, raw, raw, encoded, metadata, (e, a) => resolve([e, a])),
    );
    latencies.push(performance.now() - t0);
    if (error) {
      errors += 1;
      firstError ??= `${grpc.status[error.code]}: ${error.details}`;
    } else {
      ok += 1;
      if (ok === 1) decodedResult = (method.responseDeserialize(answer!) as { result?: unknown }).result ?? false;
    }
  }
}

await Promise.all(Array.from({ length: options.connections }, worker));
const seconds = (performance.now() - started) / 1000;
client.close();
latencies.sort((a, b) => a - b);
const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
process.stdout.write(JSON.stringify({ total: ok + errors, ok, errors, seconds, p50: at(0.5), p99: at(0.99), firstError, result: decodedResult }));

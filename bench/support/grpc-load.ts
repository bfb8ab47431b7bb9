import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { LoadResult } from "./load.js";

const CLIENT = fileURLToPath(new URL("./grpc-client.ts", import.meta.url));

/**
 * Drives `policy.v1.PolicyService/RunPolicy` at `address` from a child process (grpc-client.ts: a grpc-js client
 * built from the checked-in .proto keeping `connections` calls in flight), so that the client does not share
 * the gateway's event loop — the gRPC counterpart of autocannon in load.ts. No load generator such as ghz is
 * available here.
 */
export async function driveGrpc(options: {
  address: string;
  key: string;
  request: { baseId: string; data: Record<string, unknown> };
  connections: number;
  seconds: number;
}): Promise<LoadResult & { result: unknown }> {
  const args = ["--import", "tsx", CLIENT, JSON.stringify(options)];
  const cpu0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  const cpu = process.cpuUsage(cpu0);
  const out = JSON.parse(stdout) as {
    total: number;
    ok: number;
    errors: number;
    seconds: number;
    p50: number;
    p99: number;
    firstError: string | null;
    result: unknown;
  };
  if (out.firstError) process.stderr.write(`gRPC client: ${out.errors} failed calls, first: ${out.firstError}\n`);
  return {
    rps: out.ok / out.seconds,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, out.total),
    p50: out.p50,
    p99: out.p99,
    errors: out.errors,
    non2xx: 0,
    ok: out.ok,
    total: out.total,
    result: out.result,
  };
}

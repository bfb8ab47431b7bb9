import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const autocannonBin = createRequire(import.meta.url).resolve("autocannon/autocannon.js");

export interface LoadResult {
  rps: number;
  /** CPU time of this process (the server under test runs here, autocannon in a child) per request, µs. */
  cpuUs: number;
  /** CPU of the Postgres backends per request, µs, when the benchmark measures it. */
  postgresCpuUs?: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Requests answered with a 2xx status. */
  ok: number;
  total: number;
}

/** Drives POST requests at `url` with autocannon in a child process, so it does not compete for this event loop. */
export async function drive(options: {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const args = [autocannonBin, "-c", String(options.connections), "-d", String(options.seconds), "-m", "POST", "-j", "-H", "content-type=application/json"];
  // A command-line argument holds at most 128 KiB (Linux): larger bodies go through a file.
  let bodyFile: string | undefined;
  if (options.body.length > 64 * 1024) {
    bodyFile = path.join(await mkdtemp(path.join(tmpdir(), "verdict-bench-")), "body.json");
    await writeFile(bodyFile, options.body);
    args.push("-i", bodyFile);
  } else {
    args.push("-b", options.body);
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push("-H", `${name}=${value}`);
  args.push(options.url);
  const cpu0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }).finally(
    () => bodyFile && rm(path.dirname(bodyFile), { recursive: true, force: true }),
  );
  const cpu = process.cpuUsage(cpu0);
  const out = JSON.parse(stdout);
  return {
    rps: out.requests.average,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, out.requests.total),
    p50: out.latency.p50,
    p99: out.latency.p99,
    errors: out.errors,
    non2xx: out.non2xx,
    ok: out["2xx"],
    total: out.requests.total,
  };
}

import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { processTree } from "./cpu.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A GET on a connection of its own, so that a cluster may hand it to any worker. */
export const getFresh = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });

export interface SpawnedGateway {
  url: string;
  child: ChildProcess;
  /** The primary and its workers. */
  pids(): number[];
  close(): Promise<void>;
}

/**
 * The README's start command (`tsx src/main.ts`) as a child process on `databaseUrl` with `WORKERS=workers`,
 * production settings, logging off, rate limits never reached: how an operator runs the gateway, measured
 * from outside (its CPU is read from /proc, see cpu.ts).
 */
export async function spawnGateway(options: {
  databaseUrl: string;
  secret: string;
  workers: number;
  env?: NodeJS.ProcessEnv;
  /** Another checkout to start instead of this one (a baseline build on the same database). */
  root?: string;
}): Promise<SpawnedGateway> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(port),
    DATABASE_URL: options.databaseUrl,
    AUTH_JWT_SECRET: options.secret,
    LOG_LEVEL: "silent",
    SEED_DEMO: "never",
    WORKERS: String(options.workers),
    RATE_LIMIT_PER_MINUTE: "100000000",
    RATE_LIMIT_PER_IP_PER_MINUTE: "100000000",
    EVALUATION_DEADLINE_MS: "10000", // as benchConfig
    ...options.env,
  };
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: options.root ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  let exitCode: number | null | undefined;
  child.once("exit", (code) => (exitCode = code));
  // Logging is off (as in the in-process benchmarks): ready once /metrics has been answered by every worker.
  const url = `http://127.0.0.1:${port}`;
  const seen = new Set<string>();
  const deadline = Date.now() + 180_000;
  while (seen.size < options.workers) {
    if (exitCode !== undefined) throw new Error(`the gateway exited with ${exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not start:\n${output}`);
    const worker = await getFresh(`${url}/metrics`)
      .then((body) => /verdict_process_info\{worker="(\d+)"/.exec(body)?.[1])
      .catch(() => undefined);
    if (worker) seen.add(worker);
    else await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url,
    child,
    pids: () => processTree(child.pid!),
    close: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

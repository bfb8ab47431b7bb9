/**
 * Start-up: process start → first `GET /readyz` 200, and the resident memory once idle. Run with
 * `npm run bench:start` (it builds `dist/` first).
 *
 * Two ways to start, on the embedded database (no DATABASE_URL), each on a fresh data folder (creates the
 * database, applies the migrations, seeds the demo tenant) and again on the folder it left (opens it):
 *   tsx       `tsx src/main.ts`   what `npm start` runs (without npm's own ~0.3 s)
 *   compiled  `node dist/main.js` what `npm run start:prod` runs
 * The clock starts just before the process is spawned; `/readyz` is polled every 10 ms on a port chosen
 * beforehand. Idle RSS is `process_resident_memory_bytes` from `/metrics` 3 s after ready: the gateway's own
 * process (tsx's launcher process is not counted). (`process_cpu_seconds_total` is no measure of start-up:
 * prom-client counts from its own registration, after the modules loaded.) CPU to ready is the user + system time
 * the process and its children (tsx's gateway process, all threads) have used when /readyz first answers 200, read
 * from /proc (Linux; "—" elsewhere): far less sensitive than the wall clock to other work on a shared machine.
 * Main thread: the CPU time of the gateway's main thread alone (the rest is V8's background threads — garbage
 * collection, WebAssembly and JavaScript compilation — and libuv's; with work moved off the main thread, the wall clock
 * on a machine with a free core follows the longer of the two).
 * Each row runs ROUNDS times, interleaved; the median counts.
 * Shared machines make absolute times noisy: compare the rows of one run. BENCH_START_BASELINE=<folder> adds the
 * compiled start of another checkout, built there (e.g. `git worktree add /tmp/before main && cd /tmp/before && npm ci
 * && npm run build`), interleaved with this one's: before/after under the same load.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ROOT = path.resolve(import.meta.dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_MS = 3_000;
const READY_TIMEOUT_MS = 180_000;

interface Variant {
  name: string;
  command: string;
  args: string[];
  cwd: string;
}

const BASELINE = process.env.BENCH_START_BASELINE ? path.resolve(process.env.BENCH_START_BASELINE) : undefined;
const ALL_VARIANTS: Variant[] = [
  { name: "tsx", command: path.join(ROOT, "node_modules/.bin/tsx"), args: ["src/main.ts"], cwd: ROOT },
  { name: "compiled", command: process.execPath, args: ["dist/main.js"], cwd: ROOT },
  ...(BASELINE ? [{ name: "baseline compiled", command: process.execPath, args: ["dist/main.js"], cwd: BASELINE }] : []),
];
/** BENCH_START_VARIANTS=compiled,"baseline compiled": only these rows (default: all). */
const ONLY = process.env.BENCH_START_VARIANTS?.split(",").map((name) => name.trim());
const VARIANTS = ALL_VARIANTS.filter((variant) => !ONLY || ONLY.includes(variant.name));

interface Sample {
  readyMs: number;
  cpuMs: number;
  mainThreadCpuMs: number;
  rssBytes: number;
}

const TICK_MS = 10; // /proc's clock ticks: USER_HZ is 100 on Linux

/** CPU time (user + system) of `pid` and its descendants so far, in ms; NaN where /proc is not there. */
function cpuOfTree(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    let total = (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean)) total += cpuOfTree(Number(child));
    return total;
  } catch {
    return Number.NaN;
  }
}

/** CPU time of the gateway's main thread: `pid`'s own, or its child's when `pid` is tsx's launcher. */
function cpuOfMainThread(pid: number): number {
  try {
    const child = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").find(Boolean);
    const gateway = child ? Number(child) : pid;
    const fields = readFileSync(`/proc/${gateway}/task/${gateway}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/readyz`);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

async function processMetric(url: string, name: string): Promise<number> {
  // Once more on a network error: after a fresh start (seeding under load) the read sometimes met a reset
  // connection (ECONNRESET) kept alive from the /readyz polls.
  const text = await fetch(`${url}/metrics`)
    .catch(() => fetch(`${url}/metrics`))
    .then((response) => response.text());
  const match = new RegExp(`^${name} ([\\d.e+-]+)`, "m").exec(text);
  if (!match) throw new Error(`no ${name} in /metrics`);
  return Number(match[1]);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function measure(variant: Variant, dataDir: string): Promise<Sample> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", NODE_ENV: "development" };
  delete env.DATABASE_URL;
  delete env.AUTH_JWT_SECRET;
  let output = "";
  const started = process.hrtime.bigint();
  const child = spawn(variant.command, variant.args, { cwd: variant.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  try {
    while (!(await isReady(url))) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited with ${child.exitCode}:\n${output}`);
      if (Number(process.hrtime.bigint() - started) / 1e6 > READY_TIMEOUT_MS) throw new Error(`${variant.name} not ready:\n${output}`);
      await sleep(10);
    }
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const cpuMs = cpuOfTree(child.pid!);
    const mainThreadCpuMs = cpuOfMainThread(child.pid!);
    await sleep(IDLE_MS);
    return { readyMs, cpuMs, mainThreadCpuMs, rssBytes: await processMetric(url, "process_resident_memory_bytes") };
  } finally {
    await stop(child);
  }
}

const formatMs = (ms: number): string => (Number.isNaN(ms) ? "—" : ms.toFixed(0));

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  for (const variant of VARIANTS.filter((v) => v.command === process.execPath)) {
    if (!existsSync(path.join(variant.cwd, "dist/main.js"))) throw new Error(`${variant.cwd}/dist/main.js is missing: run \`npm run build\` there first`);
  }
  const rows = new Map<string, Sample[]>();
  const record = (name: string, sample: Sample): void => {
    rows.set(name, [...(rows.get(name) ?? []), sample]);
    process.stdout.write(
      `  ${name.padEnd(35)} ready ${sample.readyMs.toFixed(0).padStart(6)} ms, CPU to ready ${formatMs(sample.cpuMs).padStart(6)} ms (main thread ${formatMs(sample.mainThreadCpuMs).padStart(6)}), idle RSS ${(sample.rssBytes / 2 ** 20).toFixed(0)} MiB\n`,
    );
  };
  process.stdout.write(
    `load average at the start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}\n`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    process.stdout.write(`round ${round}/${ROUNDS}\n`);
    for (const variant of VARIANTS) {
      const dataDir = await mkdtemp(path.join(tmpdir(), "verdict-start-bench-"));
      try {
        record(`${variant.name}, fresh data dir`, await measure(variant, dataDir));
        record(`${variant.name}, existing data dir`, await measure(variant, dataDir));
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  }
  process.stdout.write(`\nmedian of ${ROUNDS} (target: ready ≤ 2000 ms on the embedded database)\n`);
  process.stdout.write("| start | ready (ms) | CPU to ready (ms) | main thread CPU (ms) | idle RSS (MiB) |\n|---|---|---|---|---|\n");
  for (const [name, samples] of rows) {
    const ready = median(samples.map((s) => s.readyMs));
    const cpu = median(samples.map((s) => s.cpuMs));
    const mainThread = median(samples.map((s) => s.mainThreadCpuMs));
    const rss = median(samples.map((s) => s.rssBytes)) / 2 ** 20;
    process.stdout.write(`| ${name} | ${ready.toFixed(0)} | ${formatMs(cpu)} | ${formatMs(mainThread)} | ${rss.toFixed(0)} |\n`);
  }
  process.stdout.write(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}\n`,
  );
}

await main();

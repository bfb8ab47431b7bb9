import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";

/**
 * CPU time of other processes, from /proc (Linux): the servers under test run as child processes (a clustered
 * gateway, Cerbos, zen-engine's server) and Postgres backends, so `process.cpuUsage()` cannot see them.
 * /proc counts in clock ticks (usually 10 ms), which is fine over runs of seconds.
 */
const TICK_US = 1e6 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] state, [1] ppid, [11] utime, [12] stime. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // exited meanwhile
  }
}

/** User + system CPU of one process (all its threads), µs; 0 once it has exited. */
export function processCpuUs(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) * TICK_US : 0;
}

/** `pid` and every process below it (a cluster's primary and its workers). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

/** CPU µs by pid: a snapshot to subtract from a later one. */
export type CpuSnapshot = Map<number, number>;

export const snapshot = (pids: number[]): CpuSnapshot => new Map(pids.map((pid) => [pid, processCpuUs(pid)]));

/** CPU spent between two snapshots; a process that appeared meanwhile counts from zero. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, us] of after) total += us - (before.get(pid) ?? 0);
  return total;
}

/**
 * The Postgres backends serving the benchmark's databases (what the gateways' pools and listeners cost the
 * server): the one it was opened on and any added with `watch` (a dedicated tenant's). The WAL writer and
 * checkpointer are shared with everything else on the server and are left out.
 */
export class PostgresCpu {
  private constructor(
    private readonly client: pg.Client,
    private readonly databases: string[],
  ) {}

  static async open(url: string): Promise<PostgresCpu> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return new PostgresCpu(client, [databaseName(url)]);
  }

  /** Counts the backends of the database at `url` too (on the same server). */
  watch(url: string): void {
    this.databases.push(databaseName(url));
  }

  async snapshot(): Promise<CpuSnapshot> {
    const { rows } = await this.client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()", [
      this.databases,
    ]);
    return snapshot(rows.map((r) => r.pid));
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

const databaseName = (url: string): string => new URL(url).pathname.slice(1);

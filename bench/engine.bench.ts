/**
 * Engine throughput and latency (one core). Run with `npm run bench:engine`.
 * Prints evaluations per second and per-evaluation latency (median, p99) for:
 *   - a one-condition rule,
 *   - the six-rule driving-test policy (docs/language.md#a-complete-example) with full trace,
 *   - a generated 50-rule policy (one golden rule referencing 49 labelled rules).
 * Policies are compiled once; only `evaluatePolicy` is measured.
 */
import { compilePolicy, evaluatePolicy, type CompiledPolicy } from "../src/engine/index.js";

import { DRIVING_TEST_POLICY, drivingTestData } from "../test/support/driving-test.js";
import { fiftyRules } from "./support/fifty-rules.js";

const NOW = new Date("2025-09-16T12:00:00Z");

const DRIVING = DRIVING_TEST_POLICY;
const DRIVING_DATA = drivingTestData(NOW);

interface Scenario {
  name: string;
  compiled: CompiledPolicy;
  data: unknown;
}

function run(s: Scenario): void {
  const opts = { now: NOW };
  const first = evaluatePolicy(s.compiled, s.data, opts);
  if (first.error !== null || first.result !== true) throw new Error(s.name + ": unexpected response " + JSON.stringify(first).slice(0, 300));
  // Warm up the JIT.
  for (let i = 0; i < 20_000; i++) evaluatePolicy(s.compiled, s.data, opts);

  // Throughput: timed batches for ~1.5 s. Wall-clock and CPU-time rates are both reported: on a shared machine the
  // CPU-time rate (this process's user+system time) is the better estimate of what one core can do.
  let evals = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let elapsed = 0n;
  while (elapsed < 1_500_000_000n) {
    for (let i = 0; i < 1000; i++) evaluatePolicy(s.compiled, s.data, opts);
    evals += 1000;
    elapsed = process.hrtime.bigint() - t0;
  }
  const cpu = process.cpuUsage(c0);
  const perSecond = (evals / Number(elapsed)) * 1e9;
  const perCpuSecond = (evals / (cpu.user + cpu.system)) * 1e6;

  // Latency: individually timed evaluations.
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const a = process.hrtime.bigint();
    evaluatePolicy(s.compiled, s.data, opts);
    samples[i] = Number(process.hrtime.bigint() - a);
  }
  samples.sort();
  const median = samples[Math.floor(samples.length / 2)] as number;
  const p99 = samples[Math.floor(samples.length * 0.99)] as number;
  const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(10);
  console.log(
    `${s.name.padEnd(36)} ${fmt(perSecond)} evals/s (wall) ${fmt(perCpuSecond)} evals/s (cpu)   median ${(median / 1000).toFixed(2)} µs   p99 ${(p99 / 1000).toFixed(2)} µs`,
  );
}

const fifty = fiftyRules();
const scenarios: Scenario[] = [
  {
    name: "one-condition rule",
    compiled: compilePolicy("A **Person** gets approved if __age__ of **Person** is greater than 18."),
    data: { Person: { age: 25 } },
  },
  { name: "driving test (6 rules, trace)", compiled: compilePolicy(DRIVING), data: DRIVING_DATA },
  { name: "generated 50-rule policy", compiled: compilePolicy(fifty.text), data: fifty.data },
];

console.log(`node ${process.version}, one core, compile once, evaluatePolicy with full trace`);
for (const s of scenarios) run(s);

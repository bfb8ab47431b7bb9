import type { PolicyResponse } from "../../engine/index.js";
import type { FlowResponse } from "../../engine/flow/index.js";
import type { Runnable } from "./runnable-cache.js";

/** Which stored record produced a decision, so every decision traces back to its text. */
export interface RanRecord {
  baseId: string;
  recordId: string;
  status: Runnable["status"];
  versionNumber: number | null;
}

/** Nanosecond timings of one run: the engine, reading stored records, and the gateway's own handling. */
export interface RunTimings {
  engineNs: bigint;
  databaseNs: bigint;
  gatewayNs: bigint;
}

export interface PolicyRun {
  response: PolicyResponse;
  record: RanRecord | null;
  timings: RunTimings;
}

export interface FlowRun {
  response: FlowResponse;
  record: RanRecord | null;
}

export const ranRecord = (runnable: Runnable): RanRecord => ({
  baseId: runnable.baseId,
  recordId: runnable.recordId,
  status: runnable.status,
  versionNumber: runnable.versionNumber,
});

/** A policy run's timings on the execution wire (docs/language.md#the-response), decimal strings of whole nanoseconds. */
export interface PolicyExecutionTimings {
  orchestrator: { go: string; database: string; total: string };
  engine: string;
  total: string;
}

/**
 * The timings of a run answered now, for a request that arrived at `requestStartedAt`: `go` is everything
 * the gateway spent on the request outside the engine and storage reads (authentication, rate limiting,
 * decoding, the audit write), so `total` is the request's time in the gateway. REST and gRPC answer alike.
 */
export function policyExecutionTimings(timings: RunTimings, requestStartedAt: bigint): PolicyExecutionTimings {
  const elapsed = process.hrtime.bigint() - requestStartedAt;
  let go = elapsed - timings.engineNs - timings.databaseNs;
  if (go < timings.gatewayNs) go = timings.gatewayNs;
  const orchestrator = go + timings.databaseNs;
  return {
    orchestrator: { go: String(go), database: String(timings.databaseNs), total: String(orchestrator) },
    engine: String(timings.engineNs),
    total: String(orchestrator + timings.engineNs),
  };
}

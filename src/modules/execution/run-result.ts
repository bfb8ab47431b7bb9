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

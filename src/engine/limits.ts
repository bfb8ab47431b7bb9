import type { EngineLimits } from "./api.js";
import { parseError } from "./errors.js";

/** Defaults sized for human-written policies and request bodies; see README of the engine for the rationale. */
export const DEFAULT_LIMITS: EngineLimits = Object.freeze({
  maxRuleTextLength: 100_000,
  maxRules: 500,
  maxConditions: 5_000,
  maxDataBytes: 5_000_000,
  maxDataDepth: 100,
  maxSteps: 1_000_000,
  maxAnswerBytes: 8_000_000,
});

/** Deepest bracket nesting the parser accepts; PEG recursion per level is a few frames, so this stays far from the stack limit. */
export const MAX_NESTING = 64;

/**
 * Rejects texts whose bracket nesting would make the recursive-descent parser recurse deeply. Quoted strings are
 * skipped; anything else that nests (`not not …`, `abs of abs of …`) is caught by the stack-overflow guard in
 * `parser.ts`.
 */
export function checkNesting(text: string): void {
  let depth = 0;
  let line = 1;
  let col = 0;
  let quote = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    col++;
    if (c === 10) {
      line++;
      col = 0;
      continue;
    }
    if (quote !== 0) {
      if (c === 92) {
        i++;
        col++;
      } else if (c === quote) quote = 0;
      continue;
    }
    if (c === 34 || c === 39) quote = c;
    else if (c === 40 || c === 91) {
      depth++;
      if (depth > MAX_NESTING) {
        throw parseError("nesting deeper than " + String(MAX_NESTING) + " levels (maxNesting)", line, col);
      }
    } else if (c === 41 || c === 93) depth = Math.max(0, depth - 1);
  }
}

/**
 * Measures request data without serialising it: an upper-bound byte estimate and the nesting depth. Returns the
 * estimate, or an error description. Recursion is bounded by `maxDataDepth`, so cyclic objects stop there too.
 */
export function checkData(data: unknown, limits: EngineLimits): number | string {
  const state = { bytes: 0, problem: null as string | null };
  measure(data, 1, limits, state);
  return state.problem ?? state.bytes;
}

/**
 * checkData's estimate under the default limits, or — for data the engine refuses (too large, too deep) — the most it
 * accepts: the size an echo of `data` is charged to answers (each node's policy reports the refusal itself).
 */
export function dataSizeEstimate(data: unknown): number {
  const measured = checkData(data, DEFAULT_LIMITS);
  return typeof measured === "number" ? measured : DEFAULT_LIMITS.maxDataBytes;
}

function measure(v: unknown, depth: number, limits: EngineLimits, state: { bytes: number; problem: string | null }): void {
  if (state.problem !== null) return;
  if (typeof v === "string") state.bytes += v.length + 2;
  else if (v !== null && typeof v === "object") {
    if (depth > limits.maxDataDepth) {
      state.problem = "input data is nested deeper than " + String(limits.maxDataDepth) + " levels (maxDataDepth)";
      return;
    }
    state.bytes += 2;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        state.bytes += 1;
        measure(v[i], depth + 1, limits, state);
      }
    } else {
      for (const k in v) {
        state.bytes += k.length + 4;
        measure((v as Record<string, unknown>)[k], depth + 1, limits, state);
      }
    }
  } else state.bytes += 5;
  if (state.problem === null && state.bytes > limits.maxDataBytes) {
    state.problem = "input data exceeds " + String(limits.maxDataBytes) + " bytes (maxDataBytes)";
  }
}

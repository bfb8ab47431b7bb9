/**
 * What each kind of work costs in steps of the `maxSteps` budget (README, "Bounded work").
 *
 * One step is meant to be at most about 50 ns of CPU on the 2-core reference machine, so the default budget of
 * 1,000,000 steps is at most about 50 ms for any input. The weights below were set by `bench/abuse.bench.ts`-style
 * measurements of the worst input for each construct (long strings, long lists, wide objects) and err on the
 * expensive side; the cooperative deadline (`Budget.deadlineMs`) stops an evaluation where they are still wrong.
 */
import type { FormatName } from "./operator-table.js";

export const COST = Object.freeze({
  /** A condition, a rule evaluation, a quantifier element: building its trace entry included. */
  step: 1,
  /** Each compiled expression node a condition or computed value evaluates (reads, arithmetic, functions). */
  exprNode: 0.5,
  /** Each data key visited by a fuzzy name lookup (docs/language.md). */
  keyScanned: 2,
  /** Each key of a wide object indexed for fuzzy lookups (keys.ts): once per object and evaluation. */
  keyIndexed: 8,
  /** Each list element visited (membership, aggregates, lookups, copies into the trace). */
  element: 3,
  /** Characters lowercased, compared or searched per step (equality, contains, starts/ends with, length). */
  charsPerStep: 4,
  /** Bytes of trace entries (copied values included) per step: building and later serialising them. */
  answerBytesPerStep: 10,
  /** Each candidate position of a whole-word search (docs/language.md) that needs a word-boundary check. */
  wordCandidate: 3,
});

/** Characters per step of a format check (docs/language.md): parsers cost more per character than single scans; 8 for the rest. */
const FORMAT_CHARS_PER_STEP: Partial<Record<FormatName, number>> = { Toml: 1, Json: 1, Url: 4, UriReference: 4, DataUrl: 4, Email: 4, Semver: 4 };

export function formatCharsPerStep(format: FormatName): number {
  return FORMAT_CHARS_PER_STEP[format] ?? 8;
}

/**
 * Steps of one `matches pattern` test: re2js's work is the automaton size times the input length in the worst
 * case; this many automaton-steps per budget step.
 */
export const PATTERN_UNITS_PER_STEP = 64;

/** The outcome-key rule of docs/language.md#outcome-keys: trim, strip at most one leading verb, trim again. */

const VERBS = [
  "gets",
  "passes",
  "is",
  "has",
  "receives",
  "qualifies for",
  "meets",
  "satisfies",
  "achieves",
  "attains",
  "earns",
  "gains",
  "obtains",
  "secures",
  "acquires",
  "deserves",
  "merits",
  "warrants",
  "requires",
  "needs",
  "completes",
  "fulfills",
  "demonstrates",
  "shows",
  "proves",
  "establishes",
  "maintains",
  "holds",
  "possesses",
  "displays",
  "exhibits",
  "presents",
  "provides",
  "supplies",
  "delivers",
  "submits",
  "confirms",
  "validates",
  "verifies",
  "supports",
  "justifies",
  "ensures",
  "guarantees",
  "undergoes",
  "experiences",
  "encounters",
  "faces",
  "enjoys",
  "benefits from",
  "suffers",
  "lacks",
  "misses",
  "fails",
  "succeeds in",
  "excels at",
  "reaches",
  "arrives at",
  "comes to",
];

// Multi-word verbs match with any whitespace between their words; a verb must be followed by whitespace.
const VERB_PATTERNS = VERBS.map((v) => ({
  verb: v,
  re: new RegExp("^" + v.split(" ").join("[ \\t\\r\\n]+") + "[ \\t\\r\\n]+"),
}));

export function outcomeKey(text: string): { outcome: string; verb: string | null } {
  const trimmed = text.trim();
  for (const { verb, re } of VERB_PATTERNS) {
    const m = re.exec(trimmed);
    if (m) return { outcome: trimmed.slice(m[0].length).trim(), verb };
  }
  // A verb alone ("passes") leaves nothing: that is the empty-outcome parse error.
  if (VERBS.includes(trimmed.split(/[ \t\r\n]+/).join(" "))) return { outcome: "", verb: trimmed };
  return { outcome: trimmed, verb: null };
}

export const OUTCOME_VERBS: readonly string[] = Object.freeze(VERBS.slice());

/** Fixed trace shapes: the synthetic parse-error trace of docs/language.md#parse-error-trace. */
import type { RuleSetTrace } from "./api.js";
import { positionOf } from "./errors.js";

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function parseErrorTrace(message: string, lines: readonly string[]): RuleSetTrace {
  const p = positionOf(message);
  const line = p ? p.line : null;
  const N = lines.length;
  const inRange = line !== null && line >= 1 && line <= N;
  const pos = inRange ? { line, start: 0, end: codePoints(lines[line - 1] as string) } : undefined;
  const selector: { value: string; pos?: { line: number; start: number; end: number } } = { value: "parser" };
  const outcome: { value: string; pos?: { line: number; start: number; end: number } } = { value: "parse_failed" };
  if (pos) {
    selector.pos = pos;
    outcome.pos = { ...pos };
  }
  return {
    execution: [
      {
        label: "Parse Error",
        selector,
        outcome,
        conditions: [
          {
            selector: { value: "rule_syntax" },
            property: {
              value: { error_type: "parse_error", failed_at_line: line, rule_length: N },
              path: "$.rule_syntax.line_" + String(line ?? 0),
            },
            operator: "EqualTo",
            value: { value: "invalid", type: "string" },
            evaluation_details: {
              left_value: { value: "invalid_syntax", type: "parse_error" },
              right_value: { value: "valid_syntax", type: "expectation" },
              comparison_result: false,
            },
            result: false,
          },
        ],
        result: false,
      },
    ],
  };
}

/** The `rule` field of docs/language.md#the-response. */
export function splitRuleLines(text: string): string[] {
  if (text.length === 0) return [];
  const parts = text.split("\n");
  if (text.endsWith("\n")) parts.pop();
  return parts.map((p) => (p.endsWith("\r") ? p.slice(0, -1) : p));
}

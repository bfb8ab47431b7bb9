/**
 * Errors the engine reports inside responses (docs/language.md#errors). They are thrown internally only to unwind evaluation
 * and are always caught by the public functions; nothing escapes `evaluatePolicy` except a genuine bug.
 */

export type EngineErrorKind = "parse" | "evaluation" | "type";

const PREFIX: Record<EngineErrorKind, string> = {
  parse: "Parse error: ",
  evaluation: "Evaluation error: ",
  type: "Type error: ",
};

export class EngineError extends Error {
  readonly kind: EngineErrorKind;
  readonly line: number | null;
  readonly column: number | null;

  constructor(kind: EngineErrorKind, description: string, line: number | null = null, column: number | null = null) {
    super(PREFIX[kind] + (line !== null ? "--> " + String(line) + ":" + String(column ?? 1) + " " : "") + description);
    this.name = "EngineError";
    this.kind = kind;
    this.line = line;
    this.column = column;
  }
}

export function parseError(description: string, line: number | null = null, column: number | null = null): EngineError {
  return new EngineError("parse", description, line, column);
}

export function evaluationError(description: string): EngineError {
  return new EngineError("evaluation", description);
}

export function typeError(description: string): EngineError {
  return new EngineError("type", description);
}

/** Reads `L:C` back out of a message (`Parse error: --> 1:19 …`), for the parse-error trace (docs/language.md#parse-error-trace). */
export function positionOf(message: string): { line: number; column: number } | null {
  const m = /--> (\d+):(\d+)/.exec(message);
  if (!m) return null;
  return { line: Number(m[1]), column: Number(m[2]) };
}

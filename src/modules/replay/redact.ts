export const REDACTED = "[REDACTED]";

/**
 * A copy of `data` with each dotted path (`Person.ssn`) replaced by "[REDACTED]" where it exists; arrays on
 * the way are walked element by element (`Applicants.ssn` redacts every applicant's). The input is not changed.
 */
export function redact(data: unknown, paths: readonly string[]): unknown {
  if (paths.length === 0) return data;
  const copy = structuredClone(data);
  for (const path of paths) redactPath(copy, path.split("."));
  return copy;
}

function redactPath(value: unknown, steps: readonly string[]): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value) redactPath(item, steps);
    return;
  }
  const [step, ...rest] = steps;
  const record = value as Record<string, unknown>;
  if (step === undefined || !Object.hasOwn(record, step)) return;
  if (rest.length === 0) record[step] = REDACTED;
  else redactPath(record[step], rest);
}

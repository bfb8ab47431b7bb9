export const REDACTED = "[REDACTED]";

/**
 * `data` with each dotted path (`Person.ssn`) replaced by "[REDACTED]" where it exists; arrays on the way are
 * walked element by element (`Applicants.ssn` redacts every applicant's). The input is not changed: only the
 * objects and arrays on a redacted path are copied, the rest is shared with it (the gateway never changes run
 * data after parsing it), so redacting costs in proportion to the paths, not to the size of the data.
 */
export function redact(data: unknown, paths: readonly string[]): unknown {
  let result = data;
  for (const path of paths) result = redactPath(result, path.split("."), 0);
  return result;
}

/** `value` with the path from `steps[at]` on redacted: the same value when nothing on the path exists. */
function redactPath(value: unknown, steps: readonly string[], at: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (const [index, item] of value.entries()) {
      const redacted = redactPath(item, steps, at);
      if (redacted !== item) (copy ??= [...value])[index] = redacted;
    }
    return copy ?? value;
  }
  const step = steps[at]!;
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, step)) return value;
  const inner = at === steps.length - 1 ? REDACTED : redactPath(record[step], steps, at + 1);
  return inner === record[step] ? value : { ...record, [step]: inner };
}

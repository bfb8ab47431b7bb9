import type { BaseKind } from "../../generated/prisma/enums.js";
import { invalidInput } from "../../errors/domain-error.js";

export interface RecordFieldsInput {
  content: string;
  description?: string | null;
  inputSchema?: unknown;
  tests?: readonly { name: string; data: unknown; expected: unknown; now?: Date | null }[] | null;
}

/** Validates the parts of a record a client sends, the same way for create and update. */
export function recordFields(kind: BaseKind, input: RecordFieldsInput) {
  if (input.inputSchema != null && (typeof input.inputSchema !== "object" || Array.isArray(input.inputSchema))) {
    throw invalidInput("inputSchema", "must be a JSON object (a JSON schema)");
  }
  const tests = (input.tests ?? []).map((test, index) => {
    const name = test.name.trim();
    if (!name) throw invalidInput(`tests[${index}].name`, "must not be empty");
    if (test.data === null || typeof test.data !== "object" || Array.isArray(test.data)) {
      throw invalidInput(`tests[${index}].data`, "must be a JSON object");
    }
    if (kind === "POLICY" && typeof test.expected !== "boolean") {
      throw invalidInput(`tests[${index}].expected`, "must be true or false for a policy");
    }
    if (test.now != null && Number.isNaN(test.now.getTime())) throw invalidInput(`tests[${index}].now`, "must be a valid date-time");
    return { name, data: test.data, expected: test.expected ?? null, ...(test.now ? { now: test.now.toISOString() } : {}) };
  });
  return {
    content: input.content,
    description: input.description ?? null,
    inputSchema: input.inputSchema ?? null,
    tests,
  };
}

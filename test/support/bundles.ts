import { createHash, randomUUID } from "node:crypto";
import canonicalize from "canonicalize";

/** A one-policy bundle sealed as exportBase would seal it, for tests that need a valid import. */
export function policyBundle(content: string, name = `imported-${randomUUID()}`) {
  const key = randomUUID();
  const record = {
    key,
    sourceBaseId: randomUUID(),
    kind: "POLICY",
    name,
    alias: null,
    tags: [],
    riskLevel: "LOW",
    versionNumber: 1,
    content,
    description: "v1",
    inputSchema: null,
    tests: [],
    references: {},
  };
  const sha256 = createHash("sha256").update(canonicalize(record)!).digest("hex");
  return { format: "verdict-bundle", formatVersion: 1, exportedAt: new Date().toISOString(), root: key, records: [{ ...record, sha256 }] };
}

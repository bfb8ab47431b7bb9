import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { isDocument, isPair, isScalar, parseDocument, visit } from "yaml";
import { DomainError, DomainErrorCode, invalidInput } from "../../errors/domain-error.js";
import type { BaseKind, RiskLevel } from "../../generated/prisma/enums.js";

/**
 * The export/import bundle: one JSON document holding records with everything needed to recreate
 * them, each sealed by a SHA-256 of its canonical JSON (RFC 8785), so an edited record is refused on import.
 *
 * Version 1:
 *   { format: "verdict-bundle", formatVersion: 1, exportedAt, root: <key>, records: [BundleRecord…] }
 * A record's `key` is its source record ID. A flow record's `references` maps each node reference it makes
 * (the `policyId` text: base ID, record ID or alias) to the key of the bundled policy record it resolved to
 * at export, so an import can rewrite the nodes to whatever bases the policies become.
 */
export const BUNDLE_FORMAT = "verdict-bundle";
export const BUNDLE_FORMAT_VERSION = 1;
/** Bounds that keep one import one reasonable transaction. */
export const MAX_BUNDLE_RECORDS = 200;
export const MAX_BUNDLE_CHARACTERS = 5_000_000;

export interface BundleRecord {
  key: string;
  sourceBaseId: string;
  kind: BaseKind;
  name: string;
  alias: string | null;
  tags: string[];
  riskLevel: RiskLevel;
  /** Null for a draft. */
  versionNumber: number | null;
  content: string;
  description: string | null;
  inputSchema: unknown;
  tests: unknown[];
  references: Record<string, string>;
  sha256: string;
}

export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  exportedAt: string;
  root: string;
  records: BundleRecord[];
}

export const checksumOf = (record: Omit<BundleRecord, "sha256">): string => {
  const { key, sourceBaseId, kind, name, alias, tags, riskLevel, versionNumber, content, description, inputSchema, tests, references } = record;
  const sealed = { key, sourceBaseId, kind, name, alias, tags, riskLevel, versionNumber, content, description, inputSchema, tests, references };
  return createHash("sha256")
    .update(canonicalize(sealed) ?? "")
    .digest("hex");
};

export const sealRecord = (record: Omit<BundleRecord, "sha256">): BundleRecord => ({ ...record, sha256: checksumOf(record) });

const bad = (problem: string): DomainError => invalidInput("bundle", problem);

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * Checks everything that can be checked without the database: size, format and version, the shape of every
 * record, every checksum, that references point at bundled policies, and that they form no cycle. Any
 * failure refuses the whole bundle before anything is written.
 */
export function readBundle(raw: unknown): Bundle {
  const size = JSON.stringify(raw ?? null).length;
  if (size > MAX_BUNDLE_CHARACTERS) {
    throw new DomainError(DomainErrorCode.PayloadTooLarge, `The bundle is ${size} characters; at most ${MAX_BUNDLE_CHARACTERS} can be imported at once`, {
      field: "bundle",
    });
  }
  if (!isObject(raw)) throw bad("must be a JSON object produced by exportBase");
  if (raw.format !== BUNDLE_FORMAT) throw bad(`is not a ${BUNDLE_FORMAT} (format is ${JSON.stringify(raw.format ?? null)})`);
  const version = raw.formatVersion;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) throw bad("formatVersion must be a positive integer");
  if (version > BUNDLE_FORMAT_VERSION) {
    throw bad(`format version ${version} is newer than this gateway reads (up to ${BUNDLE_FORMAT_VERSION}); upgrade the gateway to import it`);
  }
  if (!Array.isArray(raw.records) || raw.records.length === 0) throw bad("records must be a non-empty array");
  if (raw.records.length > MAX_BUNDLE_RECORDS) {
    throw new DomainError(
      DomainErrorCode.PayloadTooLarge,
      `The bundle holds ${raw.records.length} records; at most ${MAX_BUNDLE_RECORDS} can be imported at once`,
      {
        field: "bundle.records",
      },
    );
  }
  const records = raw.records.map((value, index) => readRecord(value, index));
  const byKey = new Map<string, BundleRecord>();
  for (const record of records) {
    if (byKey.has(record.key)) throw bad(`two records have the key ${record.key}`);
    byKey.set(record.key, record);
  }
  if (typeof raw.root !== "string" || !byKey.has(raw.root)) throw bad("root must be the key of one of its records");
  for (const record of records) {
    for (const [reference, key] of Object.entries(record.references)) {
      if (!byKey.has(key)) throw bad(`record ${record.key} ('${record.name}') refers to '${reference}' as record ${key}, which the bundle does not hold`);
    }
  }
  const cycle = findCycle(records);
  if (cycle) throw bad(`its records refer to each other in a cycle: ${cycle.join(" -> ")}`);
  for (const record of records) {
    for (const [reference, key] of Object.entries(record.references)) {
      const target = byKey.get(key)!;
      if (record.kind !== "FLOW") throw bad(`record ${record.key} ('${record.name}') is a policy; only flows refer to other records`);
      if (target.kind !== "POLICY") throw bad(`record ${record.key} ('${record.name}') refers to '${reference}', which is a flow; flow nodes run policies`);
    }
  }
  return { format: BUNDLE_FORMAT, formatVersion: version, exportedAt: String(raw.exportedAt ?? ""), root: raw.root, records };
}

function readRecord(value: unknown, index: number): BundleRecord {
  const at = `records[${index}]`;
  if (!isObject(value)) throw bad(`${at} must be an object`);
  const text = (field: string, nullable = false): string | null => {
    const v = value[field];
    if (nullable && v === null) return null;
    if (typeof v !== "string") throw bad(`${at}.${field} must be ${nullable ? "a string or null" : "a string"}`);
    return v;
  };
  const key = text("key")!;
  const kind = value.kind;
  if (kind !== "POLICY" && kind !== "FLOW") throw bad(`${at}.kind must be POLICY or FLOW`);
  const riskLevel = value.riskLevel;
  if (riskLevel !== "LOW" && riskLevel !== "MEDIUM" && riskLevel !== "HIGH") throw bad(`${at}.riskLevel must be LOW, MEDIUM or HIGH`);
  const versionNumber = value.versionNumber;
  if (versionNumber !== null && !(typeof versionNumber === "number" && Number.isInteger(versionNumber) && versionNumber > 0)) {
    throw bad(`${at}.versionNumber must be a positive integer or null`);
  }
  if (!Array.isArray(value.tags) || !value.tags.every((t) => typeof t === "string")) throw bad(`${at}.tags must be an array of strings`);
  if (!Array.isArray(value.tests)) throw bad(`${at}.tests must be an array`);
  const references = value.references ?? {};
  if (!isObject(references) || !Object.values(references).every((v) => typeof v === "string")) {
    throw bad(`${at}.references must map node references to record keys`);
  }
  const record: Omit<BundleRecord, "sha256"> = {
    key,
    sourceBaseId: text("sourceBaseId")!,
    kind,
    name: text("name")!,
    alias: text("alias", true),
    tags: value.tags as string[],
    riskLevel,
    versionNumber: versionNumber as number | null,
    content: text("content")!,
    description: text("description", true),
    inputSchema: value.inputSchema ?? null,
    tests: value.tests,
    references: references as Record<string, string>,
  };
  if (typeof value.sha256 !== "string" || value.sha256 !== checksumOf(record)) {
    throw bad(`record ${key} ('${record.name}') does not match its sha256: it was changed after export, so nothing was imported`);
  }
  return { ...record, sha256: value.sha256 };
}

/** A reference cycle among records, as keys, or null. */
function findCycle(records: readonly BundleRecord[]): string[] | null {
  const edges = new Map(records.map((r) => [r.key, Object.values(r.references)]));
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visitKey = (key: string): string[] | null => {
    if (state.get(key) === "done") return null;
    if (state.get(key) === "visiting") return [...path.slice(path.indexOf(key)), key];
    state.set(key, "visiting");
    path.push(key);
    for (const next of edges.get(key) ?? []) {
      const cycle = visitKey(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(key, "done");
    return null;
  };
  for (const record of records) {
    const cycle = visitKey(record.key);
    if (cycle) return cycle;
  }
  return null;
}

/** Records ordered so that every record comes after the records it refers to. */
export function dependencyOrder(records: readonly BundleRecord[]): BundleRecord[] {
  const byKey = new Map(records.map((r) => [r.key, r]));
  const ordered: BundleRecord[] = [];
  const placed = new Set<string>();
  const place = (record: BundleRecord) => {
    if (placed.has(record.key)) return;
    placed.add(record.key);
    for (const key of Object.values(record.references)) place(byKey.get(key)!);
    ordered.push(record);
  };
  records.forEach(place);
  return ordered;
}

/**
 * Rewrites the `policyId` of every node whose reference is in `replacements`, keeping the rest of the YAML
 * text (layout, comments, other values) as written. The text has already loaded as a flow.
 */
export function rewriteNodeReferences(content: string, replacements: ReadonlyMap<string, string>): { content: string; rewritten: number } {
  if (replacements.size === 0) return { content, rewritten: 0 };
  const document = parseDocument(content);
  if (!isDocument(document)) return { content, rewritten: 0 };
  let rewritten = 0;
  visit(document, {
    Pair(_key, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== "policyId" || !isScalar(pair.value)) return;
      const next = replacements.get(String(pair.value.value));
      if (next !== undefined) {
        pair.value.value = next;
        rewritten++;
      }
    },
  });
  return { content: rewritten ? document.toString() : content, rewritten };
}

import type { Draft as DraftRow, Version as VersionRow } from "../../generated/prisma/client.js";
import { type Draft, RecordStatus, type ResourceRecord, type StoredTest, type Version } from "./resource.types.js";

/** Tests are stored as JSON, where a pinned `now` is an ISO string. */
const asTests = (value: unknown): StoredTest[] =>
  Array.isArray(value)
    ? (value as (Omit<StoredTest, "now"> & { now?: string | null })[]).map((test) => ({ ...test, now: test.now ? new Date(test.now) : null }))
    : [];

type RecordCore = Omit<ResourceRecord, "status" | "versionNumber" | "description">;

function core(row: DraftRow | VersionRow): RecordCore {
  return {
    id: row.id,
    baseId: row.baseId,
    tenantId: row.tenantId,
    content: row.content,
    inputSchema: row.inputSchema,
    tests: asTests(row.tests),
    createdById: row.createdById,
    createdAt: row.createdAt,
  };
}

export function toDraft(row: DraftRow): Draft {
  return {
    ...core(row),
    status: RecordStatus.DRAFT,
    versionNumber: null,
    description: row.description,
    revision: row.revision,
    updatedById: row.updatedById,
    updatedAt: row.updatedAt,
  };
}

export function toVersion(row: VersionRow): Version {
  return { ...core(row), status: RecordStatus.PUBLISHED, versionNumber: row.number, description: row.description };
}

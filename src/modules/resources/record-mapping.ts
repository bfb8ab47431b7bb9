import type { Draft as DraftRow, Version as VersionRow } from "../../generated/prisma/client.js";
import { type Draft, RecordStatus, type StoredTest, type Version } from "./resource.types.js";

const asTests = (value: unknown): StoredTest[] => (Array.isArray(value) ? (value as StoredTest[]) : []);

export function toDraft(row: DraftRow): Draft {
  return {
    id: row.id,
    baseId: row.baseId,
    tenantId: row.tenantId,
    status: RecordStatus.DRAFT,
    versionNumber: null,
    content: row.content,
    description: row.description,
    inputSchema: row.inputSchema,
    tests: asTests(row.tests),
    createdById: row.createdById,
    createdAt: row.createdAt,
    revision: row.revision,
    updatedById: row.updatedById,
    updatedAt: row.updatedAt,
  };
}

export function toVersion(row: VersionRow): Version {
  return {
    id: row.id,
    baseId: row.baseId,
    tenantId: row.tenantId,
    status: RecordStatus.PUBLISHED,
    versionNumber: row.number,
    content: row.content,
    description: row.description,
    inputSchema: row.inputSchema,
    tests: asTests(row.tests),
    createdById: row.createdById,
    createdAt: row.createdAt,
  };
}

import type { PrismaClient } from "../../src/generated/prisma/client.js";

export type BaseState = "never-published" | "published" | "deleted";

/**
 * A base in a given lifecycle state written straight to the database (the lifecycle itself is not under
 * test where this is used): never published ⇒ USER_OWNED with a draft; published ⇒ ORGANISATION_OWNED with
 * version 1; deleted ⇒ published, then soft-deleted.
 */
export async function createBaseRow(
  prisma: PrismaClient,
  tenantId: string,
  ownerId: string,
  state: BaseState,
  kind: "POLICY" | "FLOW" = "POLICY",
  name = `${kind.toLowerCase()}-${state}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<{ baseId: string; recordId: string; versionId: string | null; draftId: string | null }> {
  const published = state !== "never-published";
  const now = new Date();
  const content = kind === "POLICY" ? "allow when true" : "nodes: []";
  const base = await prisma.base.create({
    data: {
      tenantId,
      kind,
      name,
      ownership: published ? "ORGANISATION_OWNED" : "USER_OWNED",
      ownerId,
      createdById: ownerId,
      updatedById: ownerId,
      latestVersionNumber: published ? 1 : 0,
      firstPublishedAt: published ? now : null,
      deletedAt: state === "deleted" ? now : null,
      deletedById: state === "deleted" ? ownerId : null,
    },
  });
  let versionId: string | null = null;
  let draftId: string | null = null;
  if (published) {
    const version = await prisma.version.create({
      data: { tenantId, baseId: base.id, number: 1, content, description: "first", createdById: ownerId },
    });
    versionId = version.id;
  } else {
    const draft = await prisma.draft.create({ data: { tenantId, baseId: base.id, content, createdById: ownerId, updatedById: ownerId } });
    draftId = draft.id;
  }
  return { baseId: base.id, recordId: (versionId ?? draftId)!, versionId, draftId };
}

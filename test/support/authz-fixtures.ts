import type { PrismaClient } from "../../src/generated/prisma/client.js";
import { BaseBuilder } from "./fixtures.js";

export type BaseState = "never-published" | "published" | "deleted";

/**
 * A base in a given lifecycle state (shorthand for `fixtures(prisma).base(…)`): never published ⇒ USER_OWNED
 * with a draft; published ⇒ ORGANISATION_OWNED with version 1; deleted ⇒ published, then soft-deleted.
 */
export async function createBaseRow(
  prisma: PrismaClient,
  tenantId: string,
  ownerId: string,
  state: BaseState,
  kind: "POLICY" | "FLOW" = "POLICY",
  name = `${kind.toLowerCase()}-${state}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<{ baseId: string; recordId: string; versionId: string | null; draftId: string | null }> {
  const builder = new BaseBuilder(prisma, { id: tenantId, slug: "", users: {} }).ofKind(kind).named(name).ownedBy(ownerId);
  if (state === "never-published") builder.draft();
  else builder.versions();
  if (state === "deleted") builder.deleted();
  const base = await builder.create();
  return { baseId: base.id, recordId: base.recordId, versionId: base.versionIds[0] ?? null, draftId: base.draftId };
}

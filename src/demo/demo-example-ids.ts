import type { Database } from "../database/database.js";
import { DEMO_TENANT_SLUG } from "../database/seed.js";
import type { ExampleIds } from "../http/graphiql-examples.js";

/**
 * The IDs GraphiQL's example tabs need, from the demo tenant's content (src/demo/demo-content.ts), or null
 * when this database has no demo tenant or no "Driving licence" policy in it.
 */
export async function findDemoExampleIds(database: Database): Promise<ExampleIds | null> {
  const tenant = await database.prisma.tenant.findUnique({ where: { slug: DEMO_TENANT_SLUG }, select: { id: true } });
  if (!tenant) return null;
  const bases = await database.prisma.base.findMany({
    where: { tenantId: tenant.id, deletedAt: null, name: { in: ["Driving licence", "Credit score"] } },
    select: { name: true, id: true, draft: { select: { id: true, revision: true } } },
    orderBy: { createdAt: "asc" },
  });
  const driving = bases.find((b) => b.name === "Driving licence");
  if (!driving) return null;
  const draft = bases.find((b) => b.name === "Credit score")?.draft ?? null;
  return { drivingLicenceId: driving.id, pendingDraftId: draft?.id ?? null, pendingDraftRevision: draft?.revision ?? null };
}

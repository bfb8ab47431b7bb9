import type { Database } from "../database/database.js";
import { DEMO_TENANT_SLUG } from "./seed.js";
import type { ExampleIds } from "../http/graphiql-examples.js";
import { BaseStore } from "../stores/base.store.js";
import { TenantStore } from "../stores/tenant.store.js";

/**
 * The IDs GraphiQL's example tabs need, from the demo tenant's content (src/demo/demo-content.ts), or null
 * when this database has no demo tenant or no "Driving licence" policy in it.
 */
export async function findDemoExampleIds(database: Database): Promise<ExampleIds | null> {
  const tenant = await new TenantStore(database).findBySlug(DEMO_TENANT_SLUG);
  if (!tenant) return null;
  const bases = await new BaseStore(database).basesNamed(tenant.id, ["Driving licence", "Credit score"]);
  const driving = bases.find((b) => b.name === "Driving licence");
  if (!driving) return null;
  const draft = bases.find((b) => b.name === "Credit score")?.draft ?? null;
  return { drivingLicenceId: driving.id, pendingDraftId: draft?.id ?? null, pendingDraftRevision: draft?.revision ?? null };
}

import DataLoader from "dataloader";
import type { BaseStore } from "../../stores/base.store.js";
import { flowsUsing, type FlowUsage, resolveReferences, type ResolvedReference } from "./dependencies.js";

export interface CatalogueLoaders {
  /** Key: `${tenantId} ${reference}`; the policy a flow-node reference names now. */
  policyByReference: DataLoader<string, ResolvedReference | null>;
  /** Key: `${tenantId} ${policyBaseId}`; every flow draft and version naming that policy. */
  flowsUsingPolicy: DataLoader<string, FlowUsage[]>;
}

const split = (key: string): [string, string] => {
  const at = key.indexOf(" ");
  return [key.slice(0, at), key.slice(at + 1)];
};

/** Groups keys by tenant (a request has one), so each batch costs a fixed number of statements. */
async function perTenant<V>(keys: readonly string[], load: (tenantId: string, items: string[]) => Promise<Map<string, V>>): Promise<V[]> {
  const byTenant = new Map<string, string[]>();
  for (const key of keys) {
    const [tenantId, item] = split(key);
    byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), item]);
  }
  const answers = new Map<string, V>();
  for (const [tenantId, items] of byTenant) {
    for (const [item, value] of await load(tenantId, items)) answers.set(`${tenantId} ${item}`, value);
  }
  return keys.map((key) => answers.get(key)!);
}

export function createCatalogueLoaders(bases: BaseStore): CatalogueLoaders {
  return {
    policyByReference: new DataLoader((keys) => perTenant(keys, (tenantId, references) => resolveReferences(bases, tenantId, references))),
    flowsUsingPolicy: new DataLoader((keys) =>
      perTenant(keys, async (tenantId, ids) => {
        const [policies, drafts, versions] = await Promise.all([bases.basesByIds(ids), bases.draftsOfBases(ids), bases.versionsOfBases(ids)]);
        const identities = policies
          .filter((p) => p.tenantId === tenantId)
          .map((base) => ({
            base,
            recordIds: [...drafts.filter((d) => d.baseId === base.id), ...versions.filter((v) => v.baseId === base.id)].map((r) => r.id),
          }));
        const found = await flowsUsing(bases, tenantId, identities, { latestOnly: false });
        return new Map(ids.map((id) => [id, found.get(id) ?? []]));
      }),
    ),
  };
}

import { FlowError, flowPolicyIds, parseFlow } from "../../engine/flow/index.js";
import { isUuid } from "../../shared/ids.js";
import type { Base, BaseStore, Draft, Version } from "../../stores/base.store.js";
import type { Transaction } from "../../stores/transaction.js";
import { asAlias } from "./catalogue-rules.js";

/** How a flow record names one policy: the text of its `policyId` and the nodes that use it. */
export interface FlowReference {
  reference: string;
  nodeIds: string[];
}

/**
 * The policies a flow definition names, one entry per distinct reference, in node order. Null when the text
 * does not load as a flow (a draft may be unfinished): it then uses nothing that can be told.
 */
export function referencesOf(content: string): FlowReference[] | null {
  let nodes: { nodeId: string; policyId: string }[];
  try {
    nodes = flowPolicyIds(parseFlow(content));
  } catch (error) {
    if (error instanceof FlowError) return null;
    throw error;
  }
  const byReference = new Map<string, FlowReference>();
  for (const node of nodes) {
    const entry = byReference.get(node.policyId) ?? { reference: node.policyId, nodeIds: [] };
    entry.nodeIds.push(node.nodeId);
    byReference.set(node.policyId, entry);
  }
  return [...byReference.values()];
}

/** What a reference in a flow node resolves to now: the policy base and the record that would run. */
export interface ResolvedReference {
  base: Base;
  record: Draft | Version;
}

/**
 * Resolves many flow-node references of one tenant in a fixed number of statements (at most seven, whatever
 * their number): base IDs and aliases to the base's runnable record (latest version, else draft), record IDs
 * to that exact record. Missing, deleted, foreign and non-policy targets resolve to null.
 */
export async function resolveReferences(bases: BaseStore, tenantId: string, references: readonly string[]): Promise<Map<string, ResolvedReference | null>> {
  const ids = [...new Set(references.filter(isUuid).map((r) => r.toLowerCase()))];
  const aliases = [...new Set(references.map((r) => (isUuid(r) ? null : asAlias(r))).filter((a): a is string => a !== null))];
  const [byId, drafts, versions, byAlias] = await Promise.all([
    bases.basesByIds(ids),
    bases.draftsByIds(ids),
    bases.versionsByIds(ids),
    bases.basesByAliases(tenantId, aliases),
  ]);
  const baseRefs = [...byId, ...byAlias];
  const recordBaseIds = [...new Set([...drafts, ...versions].map((r) => r.baseId))].filter((id) => !baseRefs.some((b) => b.id === id));
  const [recordBases, latestDrafts, allVersions] = await Promise.all([
    bases.basesByIds(recordBaseIds),
    bases.draftsOfBases(baseRefs.map((b) => b.id)),
    bases.versionsOfBases(baseRefs.map((b) => b.id)),
  ]);
  const baseById = new Map([...baseRefs, ...recordBases].map((b) => [b.id, b]));
  const recordById = new Map<string, Draft | Version>([...drafts, ...versions].map((r) => [r.id, r]));
  const aliasHolder = new Map(byAlias.map((b) => [b.alias!, b]));
  const runnableOf = (base: Base): Draft | Version | null =>
    allVersions.find((v) => v.baseId === base.id) ?? latestDrafts.find((d) => d.baseId === base.id) ?? null;
  const usable = (base: Base | undefined): base is Base => !!base && base.tenantId === tenantId && base.deletedAt === null && base.kind === "POLICY";

  const resolved = new Map<string, ResolvedReference | null>();
  for (const reference of references) {
    let answer: ResolvedReference | null = null;
    if (isUuid(reference)) {
      const id = reference.toLowerCase();
      const base = baseById.get(id);
      const record = recordById.get(id);
      if (base && base.id === id) {
        const runnable = runnableOf(base);
        answer = usable(base) && runnable ? { base, record: runnable } : null;
      } else if (record) {
        const owner = baseById.get(record.baseId);
        answer = usable(owner) ? { base: owner, record } : null;
      }
    } else {
      const alias = asAlias(reference);
      const base = alias ? aliasHolder.get(alias) : undefined;
      const runnable = base ? runnableOf(base) : null;
      answer = usable(base) && runnable ? { base, record: runnable } : null;
    }
    resolved.set(reference, answer);
  }
  return resolved;
}

/** A flow record (draft or version) that names a policy, and how. */
export interface FlowUsage {
  flow: Base;
  record: Draft | Version;
  reference: string;
  nodeIds: string[];
}

interface PolicyIdentity {
  base: Pick<Base, "id" | "tenantId" | "alias">;
  recordIds: readonly string[];
}

/**
 * The flows of the tenant whose records name each policy: by its base ID, by one of its record IDs, or by the
 * alias it holds now (an alias names whatever base holds it when the flow runs). Four statements for any
 * number of policies: a SQL pre-filter on the text, then each candidate flow is parsed.
 */
export async function flowsUsing(
  bases: BaseStore,
  tenantId: string,
  policies: readonly PolicyIdentity[],
  options: { latestOnly: boolean },
  reader?: Transaction,
): Promise<Map<string, FlowUsage[]>> {
  const usages = new Map<string, FlowUsage[]>(policies.map((p) => [p.base.id, []]));
  const policyOfName = new Map<string, string>();
  for (const policy of policies) {
    for (const id of [policy.base.id, ...policy.recordIds]) policyOfName.set(id.toLowerCase(), policy.base.id);
    if (policy.base.alias) policyOfName.set(policy.base.alias, policy.base.id);
  }
  if (policyOfName.size === 0) return usages;
  const { drafts, versions } = await bases.flowRecordsMentioning(tenantId, [...policyOfName.keys()], options, reader);
  for (const record of [...drafts, ...versions]) {
    for (const ref of referencesOf(record.content) ?? []) {
      const key = isUuid(ref.reference) ? ref.reference.toLowerCase() : asAlias(ref.reference);
      const policyId = key ? policyOfName.get(key) : undefined;
      if (policyId) usages.get(policyId)!.push({ flow: record.base, record, reference: ref.reference, nodeIds: ref.nodeIds });
    }
  }
  return usages;
}

import { conflict, invalidInput } from "../../errors/domain-error.js";
import type { Base, BaseStore } from "../../stores/base.store.js";
import type { ActorName, IdentityStore } from "../../stores/identity.store.js";
import type { Transaction } from "../../stores/transaction.js";
import type { LifecycleGuards } from "../resources/lifecycle-guards.js";
import { MAX_TAGS_PER_BASE, normaliseTags } from "./catalogue-rules.js";
import { flowsUsing } from "./dependencies.js";

export interface LockFacts {
  id: string;
  tenantId: string;
  lockedAt: Date | null;
  lockedById: string | null;
  lockReason: string | null;
}

const describe = (holder: ActorName | null, id: string | null): string =>
  !holder ? `someone no longer known (${id ?? "unknown"})` : holder.kind === "user" ? `${holder.name} <${holder.email}>` : `API key "${holder.name}"`;

/** The catalogue's rules that the lifecycle's own changes must respect (aliases, locks, dependencies). */
export class CatalogueGuards implements LifecycleGuards {
  constructor(
    private readonly bases: BaseStore,
    private readonly identities: IdentityStore,
  ) {}

  /**
   * A locked base's draft cannot be edited, published, replaced or deleted, nor can the base be deleted.
   * The CONFLICT names who locked it, when and why, so the caller knows whom to ask. Runs never come here:
   * a lock changes nothing about what runs.
   */
  async assertUnlocked(tx: Transaction, base: LockFacts): Promise<void> {
    if (!base.lockedAt) return;
    const holder = base.lockedById ? await this.identities.actorName(base.tenantId, base.lockedById, tx) : null;
    throw conflict(
      `The base is locked by ${describe(holder, base.lockedById)} since ${base.lockedAt.toISOString()}: "${base.lockReason ?? ""}". An admin must unlock it first.`,
      {
        baseId: base.id,
        lockedById: base.lockedById,
        lockedBy: holder ? (holder.email ?? holder.name) : null,
        lockReason: base.lockReason,
        lockedAt: base.lockedAt.toISOString(),
      },
    );
  }

  tagFilter(tags: readonly string[]): string[] {
    if (tags.length > MAX_TAGS_PER_BASE) throw invalidInput("filter.tags", `at most ${MAX_TAGS_PER_BASE} tags (no base carries more)`);
    return normaliseTags(tags, "filter.tags");
  }

  /**
   * Restoring a deleted base gives it back its alias only if no live base took the alias meanwhile; otherwise
   * the restore is refused, so a flow naming the alias never silently switches bases.
   */
  async assertAliasFreeForRestore(tx: Transaction, base: Pick<Base, "id" | "tenantId" | "alias">): Promise<void> {
    if (!base.alias) return;
    const holder = await this.bases.baseIdByAlias(base.tenantId, base.alias, tx);
    if (holder && holder !== base.id) {
      throw conflict(`The alias '${base.alias}' of this base is now held by another base; remove it there (or rename it) before restoring`, {
        alias: base.alias,
      });
    }
  }

  /**
   * Deleting a policy that the latest version of a live flow uses would break that flow's runs, so it is
   * refused (CONFLICT naming the flows) unless forced. Returns the flows when forced, for the audit event.
   */
  async flowsBlockingDeletion(tx: Transaction, base: Base, force: boolean): Promise<{ id: string; name: string; version: number }[]> {
    if (base.kind !== "POLICY") return [];
    const [draft, versions] = await Promise.all([this.bases.findDraftOfBase(base.id, tx), this.bases.versionsOfBases([base.id])]);
    const recordIds = [...(draft ? [draft.id] : []), ...versions.map((v) => v.id)];
    const found = (await flowsUsing(this.bases, base.tenantId, [{ base, recordIds }], { latestOnly: true }, tx)).get(base.id) ?? [];
    const flows = [...new Map(found.map((u) => [u.flow.id, { id: u.flow.id, name: u.flow.name, version: u.flow.latestVersionNumber }])).values()];
    if (flows.length === 0 || force) return flows;
    throw conflict(
      `The policy is used by the latest version of ${flows.length === 1 ? "a flow" : `${flows.length} flows`}: ${flows.map((f) => `'${f.name}' (${f.id})`).join(", ")}. ` +
        "Change those flows first, or delete with force.",
      { flows },
    );
  }
}

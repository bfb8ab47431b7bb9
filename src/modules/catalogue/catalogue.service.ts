import type { Database } from "../../database/database.js";
import type { Prisma } from "../../generated/prisma/client.js";
import type { AuditAction, RiskLevel } from "../../generated/prisma/enums.js";
import { Action } from "../../authorization/actions.js";
import { requireBaseFor } from "../../authorization/resource-access.js";
import { conflict, type DomainError } from "../../errors/domain-error.js";
import { isUuid } from "../../shared/ids.js";
import { type TenantActor, auditActorOf, userIdOf } from "../../identity/actor.js";
import type { Base, BaseStore } from "../../stores/base.store.js";
import { inTransaction, isUniqueViolation, type Transaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { asAlias, normaliseAlias, normaliseTags, requireLockReason, withTags } from "./catalogue-rules.js";
import type { CatalogueGuards } from "./catalogue-guards.js";

const aliasTaken = (alias: string): DomainError => conflict(`The alias '${alias}' is already held by another base of this tenant`, { alias });

/**
 * Organising many bases without creating versions: aliases, tags, risk levels and locks. Each change locks
 * the base row (so it serialises with drafts and publishes of the same base), records its audit event and
 * announces the change to every gateway process, in one transaction. A change that changes nothing records
 * nothing.
 */
export class CatalogueService {
  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly guards: CatalogueGuards,
  ) {}

  /**
   * A base ID, or an alias of a live base of the caller's tenant, as the base ID. Anything else comes back
   * unchanged, so the operation it is passed to answers NOT_FOUND for it exactly as for an unknown ID.
   */
  async baseIdFor(actor: TenantActor, idOrAlias: string): Promise<string> {
    if (isUuid(idOrAlias)) return idOrAlias.toLowerCase();
    const alias = asAlias(idOrAlias);
    return (alias && (await this.bases.baseIdByAlias(actor.tenantId, alias))) || idOrAlias;
  }

  async setAlias(actor: TenantActor, ref: string, rawAlias: string | null): Promise<Base> {
    const alias = rawAlias == null ? null : normaliseAlias(rawAlias);
    return this.change(actor, ref, Action.OrganiseResources, async (tx, base) => {
      // An alias decides what flows naming it run, so it is frozen with the rest of a locked base.
      await this.guards.assertUnlocked(tx, base);
      if (base.alias === alias) return base;
      if (alias) {
        const holder = await this.bases.baseIdByAlias(base.tenantId, alias, tx);
        if (holder && holder !== base.id) throw aliasTaken(alias);
      }
      return this.update(tx, actor, base, { alias, updatedById: userIdOf(actor) }, "ALIAS_CHANGED", { from: base.alias, to: alias });
    }).catch((error: unknown) => {
      // Two bases claiming one alias at once: the partial unique index lets only one commit.
      if (alias && isUniqueViolation(error)) throw aliasTaken(alias);
      throw error;
    });
  }

  async addTags(actor: TenantActor, ref: string, rawTags: readonly string[]): Promise<Base> {
    const added = normaliseTags(rawTags);
    return this.change(actor, ref, Action.OrganiseResources, async (tx, base) => {
      const fresh = added.filter((tag) => !base.tags.includes(tag));
      if (fresh.length === 0) return base;
      const tags = withTags(base.tags, fresh);
      return this.update(tx, actor, base, { tags, updatedById: userIdOf(actor) }, "TAGS_CHANGED", { added: fresh, tags });
    });
  }

  async removeTags(actor: TenantActor, ref: string, rawTags: readonly string[]): Promise<Base> {
    const removed = normaliseTags(rawTags);
    return this.change(actor, ref, Action.OrganiseResources, async (tx, base) => {
      const present = removed.filter((tag) => base.tags.includes(tag));
      if (present.length === 0) return base;
      const tags = base.tags.filter((tag) => !present.includes(tag));
      return this.update(tx, actor, base, { tags, updatedById: userIdOf(actor) }, "TAGS_CHANGED", { removed: present, tags });
    });
  }

  async setRiskLevel(actor: TenantActor, ref: string, riskLevel: RiskLevel): Promise<Base> {
    return this.change(actor, ref, Action.OrganiseResources, async (tx, base) => {
      if (base.riskLevel === riskLevel) return base;
      return this.update(tx, actor, base, { riskLevel, updatedById: userIdOf(actor) }, "RISK_CHANGED", { from: base.riskLevel, to: riskLevel });
    });
  }

  async lock(actor: TenantActor, ref: string, rawReason: string): Promise<Base> {
    const reason = requireLockReason(rawReason);
    return this.change(actor, ref, Action.LockResources, async (tx, base) => {
      if (base.lockedAt) await this.guards.assertUnlocked(tx, base); // already locked: CONFLICT naming the holder
      return this.update(tx, actor, base, { lockedAt: new Date(), lockedById: auditActorOf(actor).actorId, lockReason: reason }, "LOCKED", { reason });
    });
  }

  async unlock(actor: TenantActor, ref: string): Promise<Base> {
    return this.change(actor, ref, Action.LockResources, async (tx, base) => {
      if (!base.lockedAt) throw conflict("The base is not locked", { baseId: base.id });
      return this.update(tx, actor, base, { lockedAt: null, lockedById: null, lockReason: null }, "UNLOCKED", {
        lockedById: base.lockedById,
        reason: base.lockReason,
        lockedAt: base.lockedAt.toISOString(),
      });
    });
  }

  /** Writes the change to the base and its audit event, in the change's transaction. */
  private async update(
    tx: Transaction,
    actor: TenantActor,
    base: Base,
    data: Prisma.BaseUncheckedUpdateInput,
    action: AuditAction,
    detail: Record<string, unknown>,
  ): Promise<Base> {
    const updated = await this.bases.updateBase(tx, base.id, data);
    await recordAuditEvent(tx, actor, actor.tenantId, { action, resourceKind: base.kind, baseId: base.id, detail });
    return updated;
  }

  private async change(actor: TenantActor, ref: string, action: Action, change: (tx: Transaction, base: Base) => Promise<Base>): Promise<Base> {
    const baseId = await this.baseIdFor(actor, ref);
    return inTransaction(this.database, async (tx) => {
      const base = isUuid(baseId) ? await this.bases.lock(tx, baseId, "update") : null;
      requireBaseFor(actor, base, action, ref);
      const result = await change(tx, base!);
      if (result !== base) await this.bases.announceChange(tx, base!.id);
      return result;
    });
  }
}

import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import { conflict, notFound } from "../../errors/domain-error.js";
import { requireUuid } from "../../shared/ids.js";
import { userIdOf, type TenantActor } from "../../identity/actor.js";
import type { Base, BaseStore } from "../../stores/base.store.js";
import type { IdentityStore } from "../../stores/identity.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";

/** Moving a never-published base to another user of the tenant (an admin power). */
export class OwnershipService {
  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly identities: IdentityStore,
  ) {}

  /**
   * Only USER_OWNED, non-deleted bases of the caller's tenant, and only to a user of that tenant. The base row
   * is locked, so a publish racing this transfer either happens first (CONFLICT here) or after.
   */
  async transferOwnership(actor: TenantActor, baseId: string, toUserId: string): Promise<Base> {
    const id = requireUuid(baseId, "Resource");
    const targetId = requireUuid(toUserId, "User");
    requireAction(actor, Action.TransferOwnership);
    const tenantId = actor.tenantId;
    return inTransaction(this.database, async (tx) => {
      const base = await this.bases.lock(tx, id, "update");
      if (!base || base.tenantId !== tenantId || base.deletedAt) throw notFound("Resource", baseId);
      const target = await this.identities.userInTenant(tenantId, targetId, tx);
      if (!target) throw notFound("User", toUserId);
      if (base.ownership !== "USER_OWNED") {
        throw conflict("Only a base that has never been published can change owner; this one belongs to the organisation", { baseId: id });
      }
      const updated = await this.bases.updateBase(tx, id, { ownerId: target.id, updatedById: userIdOf(actor), updatedAt: new Date() });
      await recordAuditEvent(tx, actor, tenantId, {
        action: "ASSIGNED",
        resourceKind: base.kind,
        baseId: id,
        detail: { ownership: "transferred", fromUserId: base.ownerId, toUserId: target.id },
      });
      return updated;
    });
  }
}

import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import { conflict, notFound } from "../../errors/domain-error.js";
import type { Base } from "../../generated/prisma/client.js";
import { requireUuid } from "../../graphql/ids.js";
import { userIdOf, type Principal } from "../../identity/principal.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";

/** Moving a never-published base to another user of the tenant (an admin power). */
export class OwnershipService {
  constructor(private readonly database: Database) {}

  /**
   * Only USER_OWNED, non-deleted bases of the caller's tenant, and only to a user of that tenant. The base row
   * is locked, so a publish racing this transfer either happens first (CONFLICT here) or after.
   */
  async transferOwnership(actor: Principal, baseId: string, toUserId: string): Promise<Base> {
    const id = requireUuid(baseId, "Resource");
    const targetId = requireUuid(toUserId, "User");
    requireAction(actor, Action.TransferOwnership);
    const tenantId = actor.tenantId;
    return this.database.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM bases WHERE id = ${id}::uuid AND tenant_id = ${tenantId}::uuid AND deleted_at IS NULL FOR UPDATE`;
      if (locked.length === 0) throw notFound("Resource", baseId);
      const base = await tx.base.findUniqueOrThrow({ where: { id } });
      const target = await tx.user.findFirst({ where: { id: targetId, tenantId }, select: { id: true } });
      if (!target) throw notFound("User", toUserId);
      if (base.ownership !== "USER_OWNED") {
        throw conflict("Only a base that has never been published can change owner; this one belongs to the organisation", { baseId: id });
      }
      const updated = await tx.base.update({
        where: { id },
        data: { ownerId: target.id, updatedById: userIdOf(actor), updatedAt: new Date() },
      });
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

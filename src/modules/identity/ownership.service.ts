import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import { conflict, notFound } from "../../errors/domain-error.js";
import { requireUuid } from "../../shared/ids.js";
import { userIdOf, type TenantActor } from "../../identity/actor.js";
import type { Base, BaseStore } from "../../stores/base.store.js";
import type { IdentityStore } from "../../stores/identity.store.js";
import { inTransaction, type Transaction } from "../../stores/transaction.js";
import { type ApprovalHook, appliedOnly, type Governed } from "../resources/approval-hook.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";

/** Moving a never-published base to another user of the tenant (an admin power). */
export class OwnershipService {
  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly identities: IdentityStore,
  ) {}

  /** Four-eyes changes (src/modules/approvals/README.md); null applies every transfer directly. */
  approvals: ApprovalHook | null = null;

  /**
   * Only USER_OWNED, non-deleted bases of the caller's tenant, and only to a user of that tenant. The base row
   * is locked, so a publish racing this transfer either happens first (CONFLICT here) or after.
   */
  async transferOwnership(actor: TenantActor, baseId: string, toUserId: string): Promise<Base> {
    return appliedOnly(await this.transferOrRequest(actor, baseId, toUserId, { request: false }));
  }

  /** Transfers, or records a pending change request when an approval policy governs the transfer. */
  async transferOrRequest(actor: TenantActor, baseId: string, toUserId: string, options: { request: boolean }): Promise<Governed<Base>> {
    const id = requireUuid(baseId, "Resource");
    const targetId = requireUuid(toUserId, "User");
    requireAction(actor, Action.TransferOwnership);
    const tenantId = actor.tenantId;
    return inTransaction(this.database, async (tx): Promise<Governed<Base>> => {
      const base = await this.bases.lock(tx, id, "update");
      if (!base || base.tenantId !== tenantId || base.deletedAt) throw notFound("Resource", baseId);
      const target = await this.identities.userInTenant(tenantId, targetId, tx);
      if (!target) throw notFound("User", toUserId);
      if (base.ownership !== "USER_OWNED") {
        throw conflict("Only a base that has never been published can change owner; this one belongs to the organisation", { baseId: id });
      }
      const change = { action: "TRANSFER_OWNERSHIP" as const, base, payload: { baseId: id, fromUserId: base.ownerId, toUserId: target.id }, size: 0 };
      const changeRequestId = this.approvals ? await this.approvals.intercept(tx, actor, change, options) : null;
      if (changeRequestId) return { changeRequestId };
      return { applied: await this.writeTransfer(tx, actor, base, target.id, {}) };
    });
  }

  /**
   * Applies an approved transfer inside the approval's transaction; stale when the base is gone, was published,
   * or changed owner since the request, or the new owner left the tenant.
   */
  async applyApprovedTransfer(
    tx: Transaction,
    actor: TenantActor,
    request: { baseId: string; fromUserId: string | null; toUserId: string; detail: Record<string, unknown> },
  ): Promise<{ applied: Base } | { stale: string }> {
    const base = await this.bases.lock(tx, request.baseId, "update");
    if (!base || base.tenantId !== actor.tenantId || base.deletedAt) return { stale: "the base was deleted" };
    if (base.ownership !== "USER_OWNED") return { stale: "the base was published: it belongs to the organisation" };
    if (base.ownerId !== request.fromUserId) return { stale: "the base changed owner since the request" };
    const target = await this.identities.userInTenant(actor.tenantId, request.toUserId, tx);
    if (!target) return { stale: "the new owner is no longer a user of the tenant" };
    return { applied: await this.writeTransfer(tx, actor, base, target.id, request.detail) };
  }

  private async writeTransfer(tx: Transaction, actor: TenantActor, base: Base, toUserId: string, detail: Record<string, unknown>): Promise<Base> {
    const updated = await this.bases.updateBase(tx, base.id, { ownerId: toUserId, updatedById: userIdOf(actor), updatedAt: new Date() });
    await recordAuditEvent(tx, actor, actor.tenantId, {
      action: "ASSIGNED",
      resourceKind: base.kind,
      baseId: base.id,
      detail: { ownership: "transferred", fromUserId: base.ownerId, toUserId, ...detail },
    });
    return updated;
  }
}

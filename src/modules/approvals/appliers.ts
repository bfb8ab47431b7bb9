import type { ApiKeyScope, Role } from "../../generated/prisma/enums.js";
import type { ApiKeyService } from "../identity/api-key.service.js";
import type { OwnershipService } from "../identity/ownership.service.js";
import type { UserService } from "../identity/user.service.js";
import type { LifecycleService } from "../resources/lifecycle.service.js";
import type { ChangeRequestService } from "./change-request.service.js";

/** What an approved PUBLISH request recorded (see LifecycleService.publishOrRequest). */
interface PublishPayload {
  draftId: string;
  revision: number;
  description: string;
  gate: Record<string, unknown>;
  requesterUserId: string | null;
}

/**
 * How each governed action is applied once approved: the module that owns the change writes it, inside the
 * approval's transaction, and the events it writes name the request, its requester and its approvers.
 */
export function wireAppliers(
  service: ChangeRequestService,
  modules: { lifecycle: LifecycleService; ownership: OwnershipService; users: UserService; apiKeys: ApiKeyService },
): void {
  service.appliers.set("PUBLISH", async (tx, actor, request, attribution) => {
    const payload = request.payload as unknown as PublishPayload;
    const outcome = await modules.lifecycle.applyApprovedPublish(tx, actor, {
      baseId: request.baseId!,
      draftId: payload.draftId,
      revision: payload.revision,
      description: payload.description,
      requesterUserId: payload.requesterUserId,
      detail: { fromDraft: payload.draftId, description: payload.description, ...payload.gate, ...attribution },
    });
    return "applied" in outcome ? { resultId: outcome.applied.id } : outcome;
  });
  service.appliers.set("DELETE", async (tx, actor, request, attribution) => {
    const { force } = request.payload as { force?: boolean };
    const outcome = await modules.lifecycle.applyApprovedDelete(tx, actor, { baseId: request.baseId!, force: force === true, detail: attribution });
    return "applied" in outcome ? { resultId: outcome.applied.id } : outcome;
  });
  service.appliers.set("TRANSFER_OWNERSHIP", async (tx, actor, request, attribution) => {
    const { fromUserId, toUserId } = request.payload as { fromUserId: string | null; toUserId: string };
    const outcome = await modules.ownership.applyApprovedTransfer(tx, actor, { baseId: request.baseId!, fromUserId, toUserId, detail: attribution });
    return "applied" in outcome ? { resultId: outcome.applied.id } : outcome;
  });
  service.appliers.set("RESTORE", async (tx, actor, request, attribution) => {
    const outcome = await modules.lifecycle.applyApprovedRestore(tx, actor, { baseId: request.baseId!, detail: attribution });
    return "applied" in outcome ? { resultId: outcome.applied.id } : outcome;
  });
  service.appliers.set("ASSIGN_ROLES", async (tx, actor, request, attribution) => {
    const { userId, rolesBefore, rolesAfter } = request.payload as { userId: string; rolesBefore: Role[]; rolesAfter: Role[] };
    const outcome = await modules.users.applyApprovedAssignment(tx, actor, { userId, rolesBefore, rolesAfter, detail: attribution });
    return "applied" in outcome ? { resultId: outcome.applied.id } : outcome;
  });
  service.appliers.set("CREATE_API_KEY", async (tx, actor, request, attribution) => {
    const payload = request.payload as { name: string; scopes: ApiKeyScope[]; expiresAt: string | null; requesterUserId: string | null };
    const outcome = await modules.apiKeys.applyApprovedKey(tx, actor, { changeRequestId: request.id, ...payload, detail: attribution });
    return "applied" in outcome ? { resultId: outcome.applied.id } : outcome;
  });
  // The secret of an approved key reaches its requester only (ChangeRequestService.claimApiKey).
  service.keyClaimer = (tx, actor, apiKeyId, changeRequestId) => modules.apiKeys.claimSealed(tx, actor, apiKeyId, changeRequestId);
}

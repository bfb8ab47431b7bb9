import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import { conflict, DomainError, DomainErrorCode, forbidden, invalidInput, notFound } from "../../errors/domain-error.js";
import type { ApprovalAction, ChangeRequestState } from "../../generated/prisma/enums.js";
import { auditActorOf, type TenantActor, userIdOf } from "../../identity/actor.js";
import { isUuid, requireUuid } from "../../shared/ids.js";
import type { Connection, PageRequest } from "../../shared/keyset.js";
import type { ApprovalPolicyStore } from "../../stores/approval-policy.store.js";
import type { ChangeRequestStore, ChangeRequestWithDecisions } from "../../stores/change-request.store.js";
import type { GroupStore } from "../../stores/group.store.js";
import type { ApiKeyRow } from "../../stores/identity.store.js";
import { inTransaction, type Transaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import type { ApprovalHook, GovernedChange } from "../resources/approval-hook.js";
import { changeContext, governs, rolesOf } from "./change-context.js";

export const COMMENT_MAX = 2000;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A matching policy's approver settings, kept on the request when it is made. */
export interface Requirement {
  approvalPolicyId: string;
  name: string;
  requiredApprovals: number;
  approverRoles: string[];
  approverUserIds: string[];
  allowSelfApprove: boolean;
}

/** Applies an approved request inside the approval's transaction, as `actor`'s act; `stale` says why it cannot be. */
export type ChangeApplier = (
  tx: Transaction,
  actor: TenantActor,
  request: ChangeRequestWithDecisions,
  attribution: Record<string, unknown>,
) => Promise<{ resultId: string } | { stale: string }>;

/** A key an approved request created, with its secret (shown this once). */
export interface ClaimedKey {
  apiKey: ApiKeyRow;
  secret: string;
}

/** What one decision did; a failure is thrown only once what it wrote (an expiry, a stale mark) has committed. */
interface Decided {
  request: ChangeRequestWithDecisions;
  failure?: DomainError;
}

/**
 * Change requests (src/modules/approvals/README.md): the pending result of a governed change, decided by approvers and applied
 * atomically once every matching policy is satisfied. Each decision locks the request row, so decisions on
 * one request happen one after the other in every process.
 */
export class ChangeRequestService implements ApprovalHook {
  /** How each action's approved change is applied; wired in src/services.ts. */
  readonly appliers = new Map<ApprovalAction, ChangeApplier>();

  /** Reveals the secret of a key an approved CREATE_API_KEY request created, once (null: claimed already); wired with the appliers. */
  keyClaimer: ((tx: Transaction, actor: TenantActor, apiKeyId: string, changeRequestId: string) => Promise<ClaimedKey | null>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly requests: ChangeRequestStore,
    private readonly policies: ApprovalPolicyStore,
    private readonly groups: GroupStore,
  ) {}

  async intercept(tx: Transaction, actor: TenantActor, change: GovernedChange, options: { request: boolean }): Promise<string | null> {
    // A tenant without enabled policies for this action reads one empty index range and goes on as before.
    const candidates = await this.policies.governing(tx, actor.tenantId, change.action);
    if (candidates.length === 0) return null;
    const actorRoles = rolesOf(actor);
    const applicable = candidates.filter((policy) => !policy.bypassRoles.some((role) => actorRoles.includes(role)));
    if (applicable.length === 0) return null;
    const base = change.base;
    const groups = base ? ((await this.groups.groupsOfBases([base.id])).get(base.id) ?? []) : [];
    const context = changeContext({
      action: change.action,
      base: base ? { name: base.name, kind: base.kind, groups: groups.map((group) => group.name), tags: base.tags ?? [], riskLevel: base.riskLevel } : null,
      actorRoles,
      size: change.size,
      ...change.facts,
    });
    const matching = applicable.filter((policy) => governs(policy, context));
    if (matching.length === 0) return null;
    const policyIds = matching.map((policy) => policy.id);
    if (!options.request) {
      throw new DomainError(
        DomainErrorCode.Conflict,
        `This ${change.action.toLowerCase().replace(/_/g, " ")} needs approval (${matching.map((p) => p.name).join(", ")}): ask for it with the mutation that answers with a change request`,
        { approvalRequired: true, approvalPolicyIds: policyIds },
      );
    }
    const seconds = matching.map((policy) => policy.expiresAfterSeconds).filter((s): s is number => s != null);
    const expiresAt = seconds.length > 0 ? new Date(Date.now() + Math.min(...seconds) * 1000) : null;
    const requirements: Requirement[] = matching.map((p) => ({
      approvalPolicyId: p.id,
      name: p.name,
      requiredApprovals: p.requiredApprovals,
      approverRoles: [...p.approverRoles],
      approverUserIds: [...p.approverUserIds],
      allowSelfApprove: p.allowSelfApprove,
    }));
    const requester = auditActorOf(actor);
    const request = await this.requests.create(tx, {
      tenantId: actor.tenantId,
      action: change.action,
      requesterType: requester.actorType,
      requesterId: requester.actorId,
      baseId: base?.id ?? null,
      payload: change.payload as never,
      policyIds,
      requirements: requirements as never,
      expiresAt,
    });
    await this.audit(tx, actor, request, "APPROVAL_REQUESTED", "PENDING", { payload: change.payload, approvalPolicyIds: policyIds, expiresAt });
    return request.id;
  }

  list(
    actor: TenantActor,
    filter: { state?: ChangeRequestState | null; action?: ApprovalAction | null; baseId?: string | null; requester?: string | null },
    page: PageRequest,
  ): Promise<Connection<ChangeRequestWithDecisions>> {
    const { tenantId } = requireAction(actor, Action.ReadResources);
    // A malformed ID matches nothing, like an unknown one.
    const none = "00000000-0000-0000-0000-000000000000";
    const idOrNone = (id: string | null | undefined) => (id == null ? null : isUuid(id) ? id.toLowerCase() : none);
    return this.requests.list(
      tenantId,
      { state: filter.state ?? null, action: filter.action ?? null, baseId: idOrNone(filter.baseId), requesterId: idOrNone(filter.requester) },
      page,
      new Date(),
    );
  }

  async get(actor: TenantActor, id: string): Promise<ChangeRequestWithDecisions> {
    const { tenantId } = requireAction(actor, Action.ReadResources);
    const request = await this.requests.find(tenantId, requireUuid(id, "ChangeRequest"));
    if (!request) throw notFound("ChangeRequest", id);
    return request;
  }

  /** Approves; applies the change when this approval satisfies every matching policy. */
  approve(actor: TenantActor, id: string, comment: string | null | undefined): Promise<ChangeRequestWithDecisions> {
    return this.decide(actor, id, async (tx, request) => {
      const approverId = this.requireApprover(actor);
      const countsFor = eligibleRequirements(request, approverId, actor).map((r) => r.approvalPolicyId);
      if (countsFor.length === 0) throw forbidden("You are not an approver of this change request");
      const text = validComment(comment, false);
      if (
        !(await this.requests.addDecision(tx, {
          tenantId: actor.tenantId,
          changeRequestId: request.id,
          approverId,
          decision: "APPROVE",
          comment: text,
          countsFor,
        }))
      ) {
        throw conflict("You already decided on this change request", { id: request.id });
      }
      await this.audit(tx, actor, request, "APPROVED", "PENDING", { comment: text });
      const current = await this.requests.read(tx, request.id);
      if (!isSatisfied(current)) return { request: current };
      return this.apply(tx, actor, current);
    });
  }

  /** One eligible approver's rejection closes the request: it is a veto, with a reason. */
  reject(actor: TenantActor, id: string, comment: string): Promise<ChangeRequestWithDecisions> {
    return this.decide(actor, id, async (tx, request) => {
      const approverId = this.requireApprover(actor);
      const countsFor = eligibleRequirements(request, approverId, actor).map((r) => r.approvalPolicyId);
      if (countsFor.length === 0) throw forbidden("You are not an approver of this change request");
      const text = validComment(comment, true);
      if (
        !(await this.requests.addDecision(tx, {
          tenantId: actor.tenantId,
          changeRequestId: request.id,
          approverId,
          decision: "REJECT",
          comment: text,
          countsFor,
        }))
      ) {
        throw conflict("You already decided on this change request", { id: request.id });
      }
      const closed = await this.requests.close(tx, request.id, { state: "REJECTED", closedById: approverId, comment: text });
      await this.audit(tx, actor, closed, "REJECTED", "REJECTED", { comment: text });
      return { request: closed };
    });
  }

  /** The requester (the same user, or the same API key) takes the request back. */
  withdraw(actor: TenantActor, id: string, comment: string | null | undefined): Promise<ChangeRequestWithDecisions> {
    return this.decide(actor, id, async (tx, request) => {
      const me = auditActorOf(actor);
      if (me.actorType !== request.requesterType || me.actorId !== request.requesterId) throw forbidden("Only the requester may withdraw a change request");
      const text = validComment(comment, false);
      const closed = await this.requests.close(tx, request.id, { state: "WITHDRAWN", closedById: userIdOf(actor), comment: text || null });
      await this.audit(tx, actor, closed, "WITHDRAWN", "WITHDRAWN", { comment: text });
      return { request: closed };
    });
  }

  /**
   * The requester of an applied CREATE_API_KEY request (the same user, or the same API key) receives the key's
   * secret, once: the key was created sealed when the last approval applied it, and claiming gives it its
   * secret. Anyone else is FORBIDDEN (approvers never see it); a second claim, or a request that is not an
   * applied key request, is CONFLICT. The request row is locked like for a decision.
   */
  async claimApiKey(actor: TenantActor, id: string): Promise<ClaimedKey> {
    // A secret is a credential: only a requester who may still manage keys receives it.
    requireAction(actor, Action.ManageApiKeys);
    const requestId = requireUuid(id, "ChangeRequest");
    return inTransaction(this.database, async (tx) => {
      const locked = await this.requests.lock(tx, actor.tenantId, requestId);
      if (!locked) throw notFound("ChangeRequest", id);
      const { request } = locked;
      const me = auditActorOf(actor);
      if (me.actorType !== request.requesterType || me.actorId !== request.requesterId) throw forbidden("Only the requester may claim the key's secret");
      if (request.action !== "CREATE_API_KEY") throw conflict("The change request does not create an API key", { id: request.id, action: request.action });
      if (request.state !== "APPLIED" || !request.resultId) {
        throw conflict(`The change request is ${request.state.toLowerCase()}: its key does not exist yet`, { id: request.id, state: request.state });
      }
      if (!this.keyClaimer) throw new Error("No key claimer wired");
      const claimed = await this.keyClaimer(tx, actor, request.resultId, request.id);
      if (!claimed) throw conflict("The key's secret was claimed already: it is never shown again", { id: request.id, apiKeyId: request.resultId });
      return claimed;
    });
  }

  /**
   * The common frame of every decision: lock the request, refuse one that is closed, and close one whose
   * expiry has passed (EXPIRED, with its event — committed, then CONFLICT), so an expired request can never be
   * approved whether or not anything swept it before.
   */
  private async decide(
    actor: TenantActor,
    id: string,
    work: (tx: Transaction, request: ChangeRequestWithDecisions) => Promise<Decided>,
  ): Promise<ChangeRequestWithDecisions> {
    requireAction(actor, Action.ReadResources);
    const requestId = requireUuid(id, "ChangeRequest");
    const decided = await inTransaction(this.database, async (tx): Promise<Decided> => {
      const locked = await this.requests.lock(tx, actor.tenantId, requestId);
      if (!locked) throw notFound("ChangeRequest", id);
      const { request, expired } = locked;
      if (request.state !== "PENDING") throw conflict(`The change request is already ${request.state.toLowerCase()}`, { id: request.id, state: request.state });
      if (expired) {
        const closed = await this.requests.close(tx, request.id, { state: "EXPIRED", closedById: null });
        await this.audit(tx, actor, closed, "EXPIRED", "EXPIRED", { expiresAt: request.expiresAt });
        return { request: closed, failure: conflict("The change request has expired", { id: request.id, state: "EXPIRED" }) };
      }
      return work(tx, request);
    });
    if (decided.failure) throw decided.failure;
    return decided.request;
  }

  private async apply(tx: Transaction, actor: TenantActor, request: ChangeRequestWithDecisions): Promise<Decided> {
    const applier = this.appliers.get(request.action);
    if (!applier) throw new Error(`No applier for ${request.action}`);
    const approvedBy = request.decisions.filter((d) => d.decision === "APPROVE").map((d) => d.approverId);
    const attribution = { changeRequestId: request.id, requestedBy: { type: request.requesterType, id: request.requesterId }, approvedBy };
    const outcome = await applier(tx, actor, request, attribution);
    if ("stale" in outcome) {
      const closed = await this.requests.close(tx, request.id, { state: "STALE", closedById: userIdOf(actor), comment: outcome.stale });
      await this.audit(tx, actor, closed, "STALE", "STALE", { reason: outcome.stale });
      return { request: closed, failure: conflict(`The change request is stale and was not applied: ${outcome.stale}`, { id: request.id, state: "STALE" }) };
    }
    const closed = await this.requests.close(tx, request.id, { state: "APPLIED", closedById: userIdOf(actor), resultId: outcome.resultId });
    await this.audit(tx, actor, closed, "APPLIED", "APPLIED", { ...attribution, resultId: outcome.resultId });
    return { request: closed };
  }

  private requireApprover(actor: TenantActor): string {
    // Approving is a person's judgement: an API key acts for its issuer but does not decide for them.
    if (actor.kind !== "user") throw forbidden("Only users approve or reject change requests");
    return actor.userId;
  }

  private audit(
    tx: Transaction,
    actor: TenantActor,
    request: ChangeRequestWithDecisions,
    action: "APPROVAL_REQUESTED" | "APPROVED" | "REJECTED" | "WITHDRAWN" | "EXPIRED" | "APPLIED" | "STALE",
    state: ChangeRequestState,
    detail: Record<string, unknown>,
  ): Promise<void> {
    return recordAuditEvent(tx, actor, actor.tenantId, {
      action,
      resourceKind: "CHANGE_REQUEST",
      baseId: request.baseId,
      detail: { changeRequestId: request.id, changeAction: request.action, state, ...detail },
    });
  }
}

export const requirementsOf = (request: Pick<ChangeRequestWithDecisions, "requirements">): Requirement[] => request.requirements as unknown as Requirement[];

/** The requirements this user may approve for: a named approver or a holder of an approver role, and not the requester unless allowed. */
function eligibleRequirements(request: ChangeRequestWithDecisions, userId: string, actor: TenantActor): Requirement[] {
  const roles: readonly string[] = actor.kind === "user" ? actor.roles : [];
  const requesterUserId = (request.payload as { requesterUserId?: string | null }).requesterUserId ?? null;
  const isRequester = userId === requesterUserId || (request.requesterType === "USER" && request.requesterId === userId);
  return requirementsOf(request).filter(
    (r) => (r.approverUserIds.includes(userId) || r.approverRoles.some((role) => roles.includes(role))) && (!isRequester || r.allowSelfApprove),
  );
}

/** Approvals so far that count towards each requirement. */
export function approvalsFor(request: ChangeRequestWithDecisions, requirement: Requirement): number {
  return request.decisions.filter((d) => d.decision === "APPROVE" && d.countsFor.includes(requirement.approvalPolicyId)).length;
}

const isSatisfied = (request: ChangeRequestWithDecisions): boolean => requirementsOf(request).every((r) => approvalsFor(request, r) >= r.requiredApprovals);

function validComment(raw: string | null | undefined, required: boolean): string {
  const text = (raw ?? "").trim();
  if (required && text === "") throw invalidInput("comment", "must say why");
  if (text.length > COMMENT_MAX) throw invalidInput("comment", `must be at most ${COMMENT_MAX} characters`);
  if (text.includes("\0") || UNPAIRED_SURROGATE.test(text)) throw invalidInput("comment", "must not contain NUL characters or unpaired surrogates");
  return text;
}

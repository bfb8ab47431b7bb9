import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import { compilePolicy } from "../../engine/index.js";
import { ApprovalAction, Role } from "../../generated/prisma/enums.js";
import { conflict, invalidInput, notFound } from "../../errors/domain-error.js";
import { isUuid, requireUuid } from "../../shared/ids.js";
import type { Connection, PageRequest } from "../../shared/keyset.js";
import { userIdOf, type TenantActor } from "../../identity/actor.js";
import type { ApprovalPolicy, ApprovalPolicyStore } from "../../stores/approval-policy.store.js";
import type { IdentityStore } from "../../stores/identity.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { durationSeconds } from "./iso-duration.js";

export type { ApprovalPolicy };

export const POLICY_NAME_MAX = 200;
export const POLICY_DESCRIPTION_MAX = 2000;
export const MAX_REQUIRED_APPROVALS = 10;
export const MAX_NAMED_APPROVERS = 100;
const CONDITIONS_MAX = 20_000;

/** What a caller may set; on update only the fields given change. */
export interface ApprovalPolicyInput {
  name?: string | null;
  description?: string | null;
  action?: ApprovalAction | null;
  conditions?: string | null;
  requiredApprovals?: number | null;
  approverRoles?: readonly Role[] | null;
  approverUserIds?: readonly string[] | null;
  allowSelfApprove?: boolean | null;
  bypassRoles?: readonly Role[] | null;
  expiresAfter?: string | null;
  enabled?: boolean | null;
}

/** The settings of a policy after validation, as they are stored. */
type PolicySettings = Pick<
  ApprovalPolicy,
  | "name"
  | "description"
  | "action"
  | "conditions"
  | "requiredApprovals"
  | "approverRoles"
  | "approverUserIds"
  | "allowSelfApprove"
  | "bypassRoles"
  | "expiresAfter"
  | "expiresAfterSeconds"
  | "enabled"
>;

const DEFAULTS: PolicySettings = {
  name: "",
  description: "",
  action: ApprovalAction.PUBLISH,
  conditions: null,
  requiredApprovals: 1,
  approverRoles: [],
  approverUserIds: [],
  allowSelfApprove: false,
  bypassRoles: [],
  expiresAfter: null,
  expiresAfterSeconds: null,
  enabled: true,
};

/**
 * Approval policies (src/modules/approvals/README.md): which changes of the tenant need whose approval. Admins manage them;
 * everyone with a role reads them. Every change commits together with its audit event.
 */
export class ApprovalPolicyService {
  constructor(
    private readonly database: Database,
    private readonly policies: ApprovalPolicyStore,
    private readonly identities: IdentityStore,
  ) {}

  list(
    actor: TenantActor,
    filter: { includeArchived?: boolean | null; action?: ApprovalAction | null },
    page: PageRequest,
  ): Promise<Connection<ApprovalPolicy>> {
    const { tenantId } = requireAction(actor, Action.ReadResources);
    return this.policies.list(tenantId, { includeArchived: filter.includeArchived ?? false, action: filter.action ?? null }, page);
  }

  async get(actor: TenantActor, id: string): Promise<ApprovalPolicy> {
    const { tenantId } = requireAction(actor, Action.ReadResources);
    const policy = await this.policies.find(tenantId, requireUuid(id, "ApprovalPolicy"));
    if (!policy) throw notFound("ApprovalPolicy", id);
    return policy;
  }

  async create(actor: TenantActor, input: ApprovalPolicyInput): Promise<ApprovalPolicy> {
    requireAction(actor, Action.ManageApprovalPolicies);
    if (input.name == null) throw invalidInput("name", "is required");
    if (input.action == null) throw invalidInput("action", "is required");
    const settings = await this.validSettings(actor.tenantId, DEFAULTS, input);
    const userId = userIdOf(actor);
    return inTransaction(this.database, async (tx) => {
      const policy = await this.policies.create(tx, { ...settings, tenantId: actor.tenantId, createdById: userId, updatedById: userId });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "CREATED",
        resourceKind: "APPROVAL_POLICY",
        detail: { approvalPolicyId: policy.id, ...settingsDetail(settings) },
      });
      return policy;
    });
  }

  async update(actor: TenantActor, id: string, input: ApprovalPolicyInput): Promise<ApprovalPolicy> {
    requireAction(actor, Action.ManageApprovalPolicies);
    const policyId = requireUuid(id, "ApprovalPolicy");
    if (Object.values(input).every((value) => value == null)) throw invalidInput("input", "names nothing to change");
    return inTransaction(this.database, async (tx) => {
      const before = await this.policies.lock(tx, actor.tenantId, policyId);
      const settings = await this.validSettings(actor.tenantId, before, input);
      const changed = changedSettings(before, settings);
      if (Object.keys(changed).length === 0) return before; // nothing to write, nothing to record
      const policy = await this.policies.update(tx, policyId, { ...settings, updatedById: userIdOf(actor), updatedAt: new Date() });
      await recordAuditEvent(tx, actor, actor.tenantId, { action: "EDITED", resourceKind: "APPROVAL_POLICY", detail: { approvalPolicyId: policyId, changed } });
      return policy;
    });
  }

  /** An archived policy governs nothing and is listed only on request; archiving it again is a CONFLICT. */
  archive(actor: TenantActor, id: string): Promise<ApprovalPolicy> {
    return this.setArchived(actor, id, true);
  }

  /** Brings an archived policy back as it was; restoring an active one is a CONFLICT. */
  restore(actor: TenantActor, id: string): Promise<ApprovalPolicy> {
    return this.setArchived(actor, id, false);
  }

  private async setArchived(actor: TenantActor, id: string, archive: boolean): Promise<ApprovalPolicy> {
    requireAction(actor, Action.ManageApprovalPolicies);
    const policyId = requireUuid(id, "ApprovalPolicy");
    return inTransaction(this.database, async (tx) => {
      const before = await this.policies.lock(tx, actor.tenantId, policyId);
      if (archive && before.archivedAt) throw conflict(`Approval policy ${policyId} is already archived`, { id: policyId });
      if (!archive && !before.archivedAt) throw conflict(`Approval policy ${policyId} is not archived`, { id: policyId });
      const policy = await this.policies.update(tx, policyId, { archivedAt: archive ? new Date() : null, updatedById: userIdOf(actor), updatedAt: new Date() });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: archive ? "ARCHIVED" : "RESTORED",
        resourceKind: "APPROVAL_POLICY",
        detail: { approvalPolicyId: policyId, name: policy.name },
      });
      return policy;
    });
  }

  /** `base` with the given fields applied, every field checked; errors name the field. */
  private async validSettings(tenantId: string, base: PolicySettings, input: ApprovalPolicyInput): Promise<PolicySettings> {
    const settings: PolicySettings = { ...pickSettings(base) };
    if (input.name != null) settings.name = validName(input.name);
    if (input.description != null) settings.description = validText("description", input.description.trim(), POLICY_DESCRIPTION_MAX);
    if (input.action != null) {
      if (!Object.values(ApprovalAction).includes(input.action)) throw invalidInput("action", `must be one of ${Object.values(ApprovalAction).join(", ")}`);
      settings.action = input.action;
    }
    // An empty text clears the conditions: the policy then governs every change of its action.
    if (input.conditions != null) settings.conditions = validConditions(input.conditions);
    if (input.requiredApprovals != null) {
      const n = input.requiredApprovals;
      if (!Number.isInteger(n) || n < 1 || n > MAX_REQUIRED_APPROVALS)
        throw invalidInput("requiredApprovals", `must be between 1 and ${MAX_REQUIRED_APPROVALS}`);
      settings.requiredApprovals = n;
    }
    if (input.approverRoles != null) settings.approverRoles = validRoles("approverRoles", input.approverRoles);
    if (input.bypassRoles != null) settings.bypassRoles = validRoles("bypassRoles", input.bypassRoles);
    if (input.approverUserIds != null) settings.approverUserIds = await this.validApprovers(tenantId, input.approverUserIds);
    if (input.allowSelfApprove != null) settings.allowSelfApprove = input.allowSelfApprove;
    if (input.enabled != null) settings.enabled = input.enabled;
    if (input.expiresAfter != null) {
      const written = input.expiresAfter.trim();
      if (written === "") {
        settings.expiresAfter = null;
        settings.expiresAfterSeconds = null;
      } else {
        const parsed = durationSeconds(written);
        if ("problem" in parsed) throw invalidInput("expiresAfter", parsed.problem);
        settings.expiresAfter = written;
        settings.expiresAfterSeconds = parsed.seconds;
      }
    }
    if (settings.approverRoles.length === 0 && settings.approverUserIds.length === 0) {
      throw invalidInput("approverRoles", "name at least one role or user who may approve (approverRoles or approverUserIds)");
    }
    return settings;
  }

  /** Named approvers must be users of the tenant; foreign and unknown IDs are refused alike. */
  private async validApprovers(tenantId: string, raw: readonly string[]): Promise<string[]> {
    if (raw.length > MAX_NAMED_APPROVERS) throw invalidInput("approverUserIds", `must list at most ${MAX_NAMED_APPROVERS} users`);
    const ids = [...new Set(raw.map((id) => id.trim().toLowerCase()))];
    for (const id of ids) requireUuidAs("approverUserIds", id);
    const known = new Set((await this.identities.usersByIds(ids)).filter((user) => user.tenantId === tenantId).map((user) => user.id));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) throw invalidInput("approverUserIds", `no user ${unknown.join(", ")} in this tenant`);
    return ids;
  }
}

const pickSettings = (p: PolicySettings): PolicySettings => ({
  name: p.name,
  description: p.description,
  action: p.action,
  conditions: p.conditions,
  requiredApprovals: p.requiredApprovals,
  approverRoles: [...p.approverRoles],
  approverUserIds: [...p.approverUserIds],
  allowSelfApprove: p.allowSelfApprove,
  bypassRoles: [...p.bypassRoles],
  expiresAfter: p.expiresAfter,
  expiresAfterSeconds: p.expiresAfterSeconds,
  enabled: p.enabled,
});

const settingsDetail = (s: PolicySettings): Record<string, unknown> => {
  const { expiresAfterSeconds: _seconds, ...shown } = s;
  return shown;
};

function changedSettings(before: PolicySettings, after: PolicySettings): Record<string, { from: unknown; to: unknown }> {
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  const a = settingsDetail(pickSettings(before));
  const b = settingsDetail(after);
  for (const key of Object.keys(b)) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) changed[key] = { from: a[key], to: b[key] };
  }
  return changed;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function validName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0) throw invalidInput("name", "must not be empty");
  if (/\p{Cc}/u.test(name)) throw invalidInput("name", "must not contain control characters");
  return validText("name", name, POLICY_NAME_MAX);
}

function validText(field: string, text: string, max: number): string {
  if (text.length > max) throw invalidInput(field, `must be at most ${max} characters`);
  if (text.includes("\0") || UNPAIRED_SURROGATE.test(text)) throw invalidInput(field, "must not contain NUL characters or unpaired surrogates");
  return text;
}

/** Conditions are a rule in the policy language; a text that does not compile is refused with the engine's error. */
function validConditions(raw: string): string | null {
  const text = validText("conditions", raw.trim(), CONDITIONS_MAX);
  if (text === "") return null;
  const compiled = compilePolicy(text);
  if (compiled.error !== null) throw invalidInput("conditions", compiled.error);
  return text;
}

function validRoles(field: string, roles: readonly Role[]): Role[] {
  const known = Object.values(Role) as string[];
  for (const role of roles) if (!known.includes(role)) throw invalidInput(field, `${String(role)} is not a role`);
  return [...new Set(roles)];
}

function requireUuidAs(field: string, id: string): void {
  if (!isUuid(id)) throw invalidInput(field, `${id} is not a user ID`);
}

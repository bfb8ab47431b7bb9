/**
 * The authorization matrix: every root query and mutation × every kind of caller (each role, each API-key
 * scope, anonymous) × owner/other user × never-published/published/deleted × same/other tenant, asserting
 * "allowed" or the exact error code. Expectations are written from the product rules (spec §2–§6), not from
 * src/authorization, so the two are checked against each other.
 *
 * Fixtures are built once (bulk inserts in beforeAll); every case that changes something gets targets of its
 * own, so cases run concurrently and in any order.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyScope, Role } from "../../src/generated/prisma/enums.js";
import { issueApiKey } from "../../src/identity/api-key-format.js";
import {
  createApiKey,
  createTenant,
  fixtures,
  graphql,
  policyBundle,
  startTestGateway,
  subscribe,
  subscriptionClient,
  type TestGateway,
  type TestTenant,
} from "../support/kit.js";

// ---------------------------------------------------------------------------------------------------------
// The product's rules, in the test's own words (spec §3).
type Perm =
  | "read"
  | "run"
  | "author"
  | "publish"
  | "delete"
  | "lock"
  | "editGroups"
  | "deleteGroups"
  | "manageRoles"
  | "manageKeys"
  | "transfer"
  | "audit"
  | "manageApprovals"
  | "replay"
  | "recording"
  | "shadow";
const VIEWER_P: Perm[] = ["read", "run"];
const EDITOR_P: Perm[] = [...VIEWER_P, "author", "editGroups"];
// §12: publishers (who decide what goes live) replay candidates on recorded inputs and run them in shadow (reading
// its results is "replay"); only admins decide to keep inputs.
const PUBLISHER_P: Perm[] = [...EDITOR_P, "publish", "replay", "shadow"];
/** Approval policies are managed by admins (spec §10); everyone with a role reads them ("read"). */
const ADMIN_P: Perm[] = [...PUBLISHER_P, "delete", "lock", "deleteGroups", "manageRoles", "manageKeys", "transfer", "audit", "manageApprovals", "recording"];
const AUDITOR_P: Perm[] = ["read", "audit"];
const ROLE_PERMS: Record<Role, Perm[]> = { VIEWER: VIEWER_P, EDITOR: EDITOR_P, PUBLISHER: PUBLISHER_P, ADMIN: ADMIN_P, AUDITOR: AUDITOR_P };
const SCOPE_ROLE: Record<ApiKeyScope, Role> = { VIEW: "VIEWER", EDIT: "EDITOR", PUBLISH: "PUBLISHER", ADMIN: "ADMIN", AUDIT: "AUDITOR" };
const ROLES: Role[] = ["VIEWER", "EDITOR", "PUBLISHER", "ADMIN", "AUDITOR"];
const SCOPES: ApiKeyScope[] = ["VIEW", "EDIT", "PUBLISH", "ADMIN", "AUDIT"];

interface Caller {
  name: string;
  kind: "anonymous" | "user" | "apiKey";
  perms: Set<Perm>;
  userId?: string;
  headers: Record<string, string>;
}
const isAdmin = (c: Caller) => c.perms.has("delete"); // the ownership override of §4

type State = "never-published" | "published" | "deleted";
type Relation = "owner" | "other";
type TenantRel = "same" | "other";
interface BaseCtx {
  tenant: TenantRel;
  state: State;
  rel: Relation;
}

type Outcome = "ALLOW" | "UNAUTHENTICATED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT";

/** The common order of checks: credential, then permission, then existence (foreign ≡ deleted ≡ missing). */
function gate(caller: Caller, perm: Perm | null): Outcome | null {
  if (caller.kind === "anonymous") return "UNAUTHENTICATED";
  if (perm && !caller.perms.has(perm)) return "FORBIDDEN";
  return null;
}
function baseGate(caller: Caller, perm: Perm, ctx: BaseCtx, opts: { deletedIsTarget?: boolean; ownership?: boolean } = {}): Outcome | null {
  const g = gate(caller, perm);
  if (g) return g;
  if (ctx.tenant === "other") return "NOT_FOUND";
  if (ctx.state === "deleted" && !opts.deletedIsTarget) return "NOT_FOUND";
  if (opts.ownership && ctx.state === "never-published" && ctx.rel !== "owner" && !isAdmin(caller)) return "FORBIDDEN";
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures.
const DATA = { Person: { age: 30 } };
const POLICY = `A **Person** gets approved if __age__ of **Person** is greater than 18.`;
const flowYaml = (policyBaseId: string) => `
flow:
  start:
    - id: start-1
      type: start
      policyId: ${policyBaseId}
      onTrue:
        - id: yes
          type: return
          returnValue: true
      onFalse:
        - id: no
          type: return
          returnValue: false
`;

interface BaseFixture {
  baseId: string;
  draftId: string;
  versionId: string | null;
}
interface BaseSpec {
  tenantId: string;
  ownerId: string;
  state: State;
  kind: "POLICY" | "FLOW";
  groupId?: string;
  locked?: boolean;
}

let gateway: TestGateway;
let A: TestTenant;
let B: TestTenant;
const callers: Caller[] = [];
const leafPolicy: Record<string, string> = {};
const sharedGroup: Record<string, string> = {};

const pendingBases: (BaseSpec & BaseFixture)[] = [];
const pendingGroups: { id: string; tenantId: string; name: string }[] = [];
const pendingUsers: { id: string; tenantId: string; roles: Role[] }[] = [];
const pendingKeys: { id: string; tenantId: string; revoked: boolean; sealedFor?: string }[] = [];
const pendingApprovalPolicies: { id: string; tenantId: string; archived: boolean }[] = [];
const pendingChangeRequests: { id: string; tenantId: string; requesterId: string; appliedKeyId?: string }[] = [];

function newBase(spec: BaseSpec): BaseFixture {
  const fixture = { baseId: randomUUID(), draftId: randomUUID(), versionId: spec.state === "never-published" ? null : randomUUID() };
  pendingBases.push({ ...spec, ...fixture });
  return fixture;
}
function newGroup(tenantId: string): string {
  const id = randomUUID();
  pendingGroups.push({ id, tenantId, name: `g-${id}` });
  return id;
}
function newUser(tenantId: string, roles: Role[]): string {
  const id = randomUUID();
  pendingUsers.push({ id, tenantId, roles });
  return id;
}
function newApprovalPolicy(tenantId: string, archived = false): string {
  const id = randomUUID();
  pendingApprovalPolicies.push({ id, tenantId, archived });
  return id;
}
function newChangeRequest(tenantId: string, requesterId: string): string {
  const id = randomUUID();
  pendingChangeRequests.push({ id, tenantId, requesterId });
  return id;
}
/** An applied CREATE_API_KEY request and the sealed key it created, whose secret its requester has not claimed. */
function newAppliedKeyRequest(tenantId: string, requesterId: string): string {
  const id = randomUUID();
  const keyId = randomUUID();
  pendingKeys.push({ id: keyId, tenantId, revoked: false, sealedFor: id });
  pendingChangeRequests.push({ id, tenantId, requesterId, appliedKeyId: keyId });
  return id;
}
function newKey(tenantId: string, revoked = false): string {
  const id = randomUUID();
  pendingKeys.push({ id, tenantId, revoked });
  return id;
}

async function insertPending(): Promise<void> {
  const { prisma } = gateway.database;
  const now = new Date();
  const contentOf = (b: BaseSpec) => (b.kind === "POLICY" ? POLICY : flowYaml(leafPolicy[b.tenantId]!));
  await prisma.base.createMany({
    data: pendingBases.map((b) => ({
      id: b.baseId,
      tenantId: b.tenantId,
      kind: b.kind,
      name: `m-${b.baseId}`,
      ownership: b.state === "never-published" ? ("USER_OWNED" as const) : ("ORGANISATION_OWNED" as const),
      ownerId: b.ownerId,
      createdById: b.ownerId,
      updatedById: b.ownerId,
      latestVersionNumber: b.versionId ? 1 : 0,
      firstPublishedAt: b.versionId ? now : null,
      deletedAt: b.state === "deleted" ? now : null,
      ...(b.locked ? { lockedAt: now, lockedById: b.ownerId, lockReason: "matrix" } : {}),
    })),
  });
  await prisma.version.createMany({
    data: pendingBases
      .filter((b) => b.versionId)
      .map((b) => ({ id: b.versionId!, tenantId: b.tenantId, baseId: b.baseId, number: 1, content: contentOf(b), description: "v1", createdById: b.ownerId })),
  });
  await prisma.draft.createMany({
    data: pendingBases.map((b) => ({
      id: b.draftId,
      tenantId: b.tenantId,
      baseId: b.baseId,
      content: contentOf(b),
      createdById: b.ownerId,
      updatedById: b.ownerId,
    })),
  });
  await prisma.group.createMany({ data: pendingGroups });
  await prisma.groupMember.createMany({
    data: pendingBases.filter((b) => b.groupId).map((b) => ({ groupId: b.groupId!, baseId: b.baseId, tenantId: b.tenantId })),
  });
  await prisma.user.createMany({
    data: pendingUsers.map((u) => ({
      id: u.id,
      tenantId: u.tenantId,
      subject: `matrix|${u.id}`,
      email: `${u.id}@matrix.test`,
      name: "target",
      roles: u.roles,
    })),
  });
  await prisma.approvalPolicy.createMany({
    data: pendingApprovalPolicies.map((p) => ({
      id: p.id,
      tenantId: p.tenantId,
      name: "target",
      action: "DELETE" as const,
      approverRoles: ["ADMIN" as const],
      // Disabled: the matrix's fixture policies exist to be managed, and must not gate the matrix's own deletes.
      enabled: false,
      archivedAt: p.archived ? now : null,
    })),
  });
  await prisma.changeRequest.createMany({
    data: pendingChangeRequests.map((r) => ({
      id: r.id,
      tenantId: r.tenantId,
      action: r.appliedKeyId ? ("CREATE_API_KEY" as const) : ("PUBLISH" as const),
      ...(r.appliedKeyId ? { state: "APPLIED" as const, resultId: r.appliedKeyId, closedAt: now } : {}),
      requesterType: "USER" as const,
      requesterId: r.requesterId,
      payload: {},
      policyIds: [],
      // Ten approvals needed, so an allowed approval leaves the request pending (nothing to apply in the matrix).
      requirements: [
        {
          approvalPolicyId: randomUUID(),
          name: "matrix",
          requiredApprovals: 10,
          approverRoles: ["PUBLISHER", "ADMIN"],
          approverUserIds: [],
          allowSelfApprove: false,
        },
      ],
    })),
  });
  await prisma.apiKey.createMany({
    data: pendingKeys.map((k) => {
      const issued = issueApiKey(k.tenantId);
      return {
        id: k.id,
        tenantId: k.tenantId,
        name: "target",
        prefix: issued.prefix,
        // A sealed key's hash is the marker ApiKeyService gives keys created by approved requests.
        secretHash: k.sealedFor ? `sealed:${k.sealedFor}` : issued.secretHash,
        scopes: ["VIEW" as const],
        revokedAt: k.revoked ? now : null,
      };
    }),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Cases.
interface Case {
  op: string;
  label: string;
  caller: Caller;
  query: string;
  variables: () => Record<string, unknown>;
  expected: Outcome;
}
const cases: Case[] = [];
const ops = new Set<string>();

function add(op: string, label: string, caller: Caller, query: string, variables: () => Record<string, unknown>, expected: Outcome) {
  ops.add(op);
  cases.push({ op, label: `${op} as ${caller.name} ${label}`.trim(), caller, query, variables, expected });
}

/** Every context of a base operation for this caller: owner/other only in the caller's own tenant, and only users own. */
function baseContexts(caller: Caller): BaseCtx[] {
  const contexts: BaseCtx[] = [];
  for (const state of ["never-published", "published", "deleted"] as State[]) {
    if (caller.kind === "user") contexts.push({ tenant: "same", state, rel: "owner" });
    contexts.push({ tenant: "same", state, rel: "other" });
    contexts.push({ tenant: "other", state, rel: "other" });
  }
  return caller.kind === "anonymous" ? contexts.filter((c) => c.tenant === "same") : contexts;
}

function specFor(caller: Caller, ctx: BaseCtx, kind: "POLICY" | "FLOW", extra: Partial<BaseSpec> = {}): BaseSpec {
  const tenant = ctx.tenant === "same" ? A : B;
  const ownerId = ctx.tenant === "other" ? B.users.owner!.id : ctx.rel === "owner" ? caller.userId! : A.users.owner!.id;
  return { tenantId: tenant.id, ownerId, state: ctx.state, kind, ...extra };
}

const ctxLabel = (ctx: BaseCtx) => `on ${ctx.tenant === "same" ? "own-tenant" : "other-tenant"} ${ctx.state} base (${ctx.rel})`;

function defineCases(): void {
  const RUN_FIELDS = "result error record { recordId }";
  for (const caller of callers) {
    // --- No resource -------------------------------------------------------------------------------------
    add("version", "", caller, `{ version { gateway } }`, () => ({}), "ALLOW");
    add("viewer", "", caller, `{ viewer { credential } }`, () => ({}), gate(caller, null) ?? "ALLOW");
    add("bases", "", caller, `{ bases(first: 5) { totalCount } }`, () => ({}), gate(caller, "read") ?? "ALLOW");
    add("bases", "of all owners", caller, `{ bases(first: 5, filter: { allOwners: true }) { totalCount } }`, () => ({}), gate(caller, "delete") ?? "ALLOW");
    add("groups", "", caller, `{ groups(first: 5) { totalCount } }`, () => ({}), gate(caller, "read") ?? "ALLOW");
    add("users", "", caller, `{ users(first: 5) { totalCount } }`, () => ({}), gate(caller, "manageRoles") ?? "ALLOW");
    add("apiKeys", "", caller, `{ apiKeys(first: 5) { totalCount } }`, () => ({}), gate(caller, "manageKeys") ?? "ALLOW");
    add("auditEvents", "", caller, `{ auditEvents(first: 5) { edges { cursor } } }`, () => ({}), gate(caller, "audit") ?? "ALLOW");
    add("verifyAuditChain", "", caller, `{ verifyAuditChain { __typename } }`, () => ({}), gate(caller, "audit") ?? "ALLOW");
    add(
      "createPolicy",
      "",
      caller,
      `mutation($i: CreateResourceInput!) { createPolicy(input: $i) { id } }`,
      () => ({ i: { name: `new-${randomUUID()}`, content: POLICY } }),
      gate(caller, "author") ?? "ALLOW",
    );
    add(
      "createFlow",
      "",
      caller,
      `mutation($i: CreateResourceInput!) { createFlow(input: $i) { id } }`,
      () => ({ i: { name: `new-${randomUUID()}`, content: flowYaml(leafPolicy[A.id]!) } }),
      gate(caller, "author") ?? "ALLOW",
    );
    add(
      "runRule",
      "",
      caller,
      `mutation($r: String!, $data: JSONObject!) { runRule(rule: $r, data: $data) { result } }`,
      () => ({ r: POLICY, data: DATA }),
      gate(caller, "run") ?? "ALLOW",
    );
    add(
      "createGroup",
      "",
      caller,
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      () => ({ i: { name: `cg-${randomUUID()}` } }),
      gate(caller, "editGroups") ?? "ALLOW",
    );
    add("validateRule", "", caller, `query($r: String!) { validateRule(rule: $r) { __typename } }`, () => ({ r: POLICY }), gate(caller, "read") ?? "ALLOW");
    add("explainRule", "", caller, `query($r: String!) { explainRule(rule: $r) { __typename } }`, () => ({ r: POLICY }), gate(caller, "read") ?? "ALLOW");
    add("languageOperators", "", caller, `{ languageOperators { __typename } }`, () => ({}), gate(caller, "read") ?? "ALLOW");
    add("approvalPolicies", "", caller, `{ approvalPolicies(first: 5) { totalCount } }`, () => ({}), gate(caller, "read") ?? "ALLOW");
    add(
      "createApprovalPolicy",
      "",
      caller,
      // Disabled, so that it gates none of the matrix's publishes.
      `mutation { createApprovalPolicy(input: { name: "m", action: PUBLISH, approverRoles: [ADMIN], enabled: false }) { id } }`,
      () => ({}),
      gate(caller, "manageApprovals") ?? "ALLOW",
    );
    add("changeRequests", "", caller, `{ changeRequests(first: 5) { totalCount } }`, () => ({}), gate(caller, "read") ?? "ALLOW");
    add(
      "importBundle",
      "",
      caller,
      `mutation($b: JSONObject!) { importBundle(bundle: $b) { dryRun } }`,
      () => ({ b: policyBundle(POLICY) }),
      gate(caller, "author") ?? "ALLOW",
    );
    add(
      "createApiKeyWithApproval",
      "",
      caller,
      `mutation { createApiKeyWithApproval(input: { name: "m", scopes: [VIEW] }) { __typename } }`,
      () => ({}),
      gate(caller, "manageKeys") ?? "ALLOW",
    );
    add(
      "createApiKey",
      "",
      caller,
      `mutation { createApiKey(input: { name: "m", scopes: [VIEW] }) { secretShownOnce } }`,
      () => ({}),
      gate(caller, "manageKeys") ?? "ALLOW",
    );

    // --- Tenant-scoped targets that are not bases ---------------------------------------------------------
    for (const tenant of ["same", "other"] as TenantRel[]) {
      if (caller.kind === "anonymous" && tenant === "other") continue;
      const T = () => (tenant === "same" ? A : B);
      const foreign = (g: Outcome | null) => g ?? (tenant === "other" ? "NOT_FOUND" : "ALLOW");
      const where = `in ${tenant === "same" ? "own" : "other"} tenant`;
      {
        // Approvers are the request's (PUBLISHER and ADMIN here), and only users decide: keys are refused.
        const approver = (g: Outcome | null): Outcome =>
          g ?? (tenant === "other" ? "NOT_FOUND" : caller.kind !== "user" || !caller.perms.has("publish") ? "FORBIDDEN" : "ALLOW");
        const owner = T().users.owner!.id;
        const read = newChangeRequest(T().id, owner);
        add("changeRequest", where, caller, `query($id: ID!) { changeRequest(id: $id) { id } }`, () => ({ id: read }), foreign(gate(caller, "read")));
        const approve = newChangeRequest(T().id, owner);
        add(
          "approveChangeRequest",
          where,
          caller,
          `mutation($id: ID!) { approveChangeRequest(id: $id, comment: "ok") { state } }`,
          () => ({ id: approve }),
          approver(gate(caller, "read")),
        );
        const reject = newChangeRequest(T().id, owner);
        add(
          "rejectChangeRequest",
          where,
          caller,
          `mutation($id: ID!) { rejectChangeRequest(id: $id, comment: "no") { state } }`,
          () => ({ id: reject }),
          approver(gate(caller, "read")),
        );
        // Only the requester withdraws: someone else's request is FORBIDDEN, one's own is allowed.
        const theirs = newChangeRequest(T().id, owner);
        add(
          "withdrawChangeRequest",
          `${where} (someone else's)`,
          caller,
          `mutation($id: ID!) { withdrawChangeRequest(id: $id) { state } }`,
          () => ({ id: theirs }),
          gate(caller, "read") ?? (tenant === "other" ? "NOT_FOUND" : "FORBIDDEN"),
        );
        if (caller.kind === "user" && tenant === "same") {
          const mine = newChangeRequest(T().id, caller.userId!);
          add(
            "withdrawChangeRequest",
            `${where} (own)`,
            caller,
            `mutation($id: ID!) { withdrawChangeRequest(id: $id) { state } }`,
            () => ({ id: mine }),
            gate(caller, "read") ?? "ALLOW",
          );
        }
      }
      {
        // The secret of an approved key is its requester's alone (and needs the right to manage keys).
        const theirs = newAppliedKeyRequest(T().id, T().users.owner!.id);
        const CLAIM = `mutation($id: ID!) { claimApprovedApiKey(changeRequestId: $id) { secretShownOnce } }`;
        add(
          "claimApprovedApiKey",
          `${where} (someone else's)`,
          caller,
          CLAIM,
          () => ({ id: theirs }),
          gate(caller, "manageKeys") ?? (tenant === "other" ? "NOT_FOUND" : "FORBIDDEN"),
        );
        if (caller.kind === "user" && tenant === "same") {
          const mine = newAppliedKeyRequest(T().id, caller.userId!);
          add("claimApprovedApiKey", `${where} (own)`, caller, CLAIM, () => ({ id: mine }), gate(caller, "manageKeys") ?? "ALLOW");
        }
      }
      // Flow test runs resolve policies in the caller's tenant only.
      add(
        "testFlow",
        where,
        caller,
        `mutation($d: String!, $data: JSONObject!) { testFlow(definition: $d, data: $data) { result } }`,
        () => ({ d: flowYaml(leafPolicy[T().id]!), data: DATA }),
        foreign(gate(caller, "run")),
      );
      {
        const id = newGroup(T().id);
        add("group", where, caller, `query($id: ID!) { group(id: $id) { id } }`, () => ({ id }), foreign(gate(caller, "read")));
      }
      {
        const id = newGroup(T().id);
        add(
          "updateGroup",
          where,
          caller,
          `mutation($id: ID!) { updateGroup(id: $id, input: { description: "changed" }) { id } }`,
          () => ({ id }),
          foreign(gate(caller, "editGroups")),
        );
      }
      {
        const id = newGroup(T().id);
        add("deleteGroup", where, caller, `mutation($id: ID!) { deleteGroup(id: $id) }`, () => ({ id }), foreign(gate(caller, "deleteGroups")));
      }
      {
        const userId = newUser(T().id, ["VIEWER"]);
        add(
          "assignRoles",
          where,
          caller,
          `mutation($u: ID!) { assignRoles(userId: $u, roles: [EDITOR]) { id } }`,
          () => ({ u: userId }),
          foreign(gate(caller, "manageRoles")),
        );
      }
      {
        // No policy governs the matrix's assignments and keys, so the …WithApproval forms apply them at once.
        const userId = newUser(T().id, ["VIEWER"]);
        add(
          "assignRolesWithApproval",
          where,
          caller,
          `mutation($u: ID!) { assignRolesWithApproval(userId: $u, roles: [EDITOR]) { __typename } }`,
          () => ({ u: userId }),
          foreign(gate(caller, "manageRoles")),
        );
      }
      {
        const userId = newUser(T().id, ["VIEWER", "EDITOR"]);
        add(
          "removeRoles",
          where,
          caller,
          `mutation($u: ID!) { removeRoles(userId: $u, roles: [EDITOR]) { id } }`,
          () => ({ u: userId }),
          foreign(gate(caller, "manageRoles")),
        );
      }
      {
        const keyId = newKey(T().id);
        add("revokeApiKey", where, caller, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, () => ({ id: keyId }), foreign(gate(caller, "manageKeys")));
      }
      {
        const id = newApprovalPolicy(T().id);
        add("approvalPolicy", where, caller, `query($id: ID!) { approvalPolicy(id: $id) { id } }`, () => ({ id }), foreign(gate(caller, "read")));
      }
      {
        const id = newApprovalPolicy(T().id);
        add(
          "updateApprovalPolicy",
          where,
          caller,
          `mutation($id: ID!) { updateApprovalPolicy(id: $id, input: { description: "changed" }) { id } }`,
          () => ({ id }),
          foreign(gate(caller, "manageApprovals")),
        );
      }
      {
        const id = newApprovalPolicy(T().id);
        add(
          "archiveApprovalPolicy",
          where,
          caller,
          `mutation($id: ID!) { archiveApprovalPolicy(id: $id) { id } }`,
          () => ({ id }),
          foreign(gate(caller, "manageApprovals")),
        );
      }
      {
        const id = newApprovalPolicy(T().id, true);
        add(
          "restoreApprovalPolicy",
          where,
          caller,
          `mutation($id: ID!) { restoreApprovalPolicy(id: $id) { id } }`,
          () => ({ id }),
          foreign(gate(caller, "manageApprovals")),
        );
      }
      if (tenant === "same") {
        const archivedId = newApprovalPolicy(T().id, true);
        add(
          "archiveApprovalPolicy",
          "of own tenant, already archived",
          caller,
          `mutation($id: ID!) { archiveApprovalPolicy(id: $id) { id } }`,
          () => ({ id: archivedId }),
          gate(caller, "manageApprovals") ?? "CONFLICT",
        );
        const activeId = newApprovalPolicy(T().id);
        add(
          "restoreApprovalPolicy",
          "of own tenant, not archived",
          caller,
          `mutation($id: ID!) { restoreApprovalPolicy(id: $id) { id } }`,
          () => ({ id: activeId }),
          gate(caller, "manageApprovals") ?? "CONFLICT",
        );
      }
      if (tenant === "same") {
        const keyId = newKey(T().id, true);
        add(
          "revokeApiKey",
          "of own tenant, already revoked",
          caller,
          `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
          () => ({ id: keyId }),
          gate(caller, "manageKeys") ?? "CONFLICT",
        );
      }
    }

    // --- Bases and records ---------------------------------------------------------------------------------
    for (const ctx of baseContexts(caller)) {
      const label = ctxLabel(ctx);
      const policy = () => newBase(specFor(caller, ctx, "POLICY"));
      const flow = () => newBase(specFor(caller, ctx, "FLOW"));
      const read = baseGate(caller, "read", ctx) ?? "ALLOW";
      const run = baseGate(caller, "run", ctx) ?? "ALLOW";
      {
        const b = policy();
        add("base", label, caller, `query($id: ID!) { base(id: $id) { id } }`, () => ({ id: b.baseId }), read);
        add("record", label, caller, `query($id: ID!) { record(id: $id) { id } }`, () => ({ id: b.versionId ?? b.draftId }), read);
        add("records", label, caller, `query($id: ID!) { records(baseId: $id) { id } }`, () => ({ id: b.baseId }), read);
        add(
          "compareRecords",
          label,
          caller,
          `query($l: ID!, $r: ID!) { compareRecords(leftId: $l, rightId: $r) { left { id } } }`,
          () => ({ l: b.draftId, r: b.versionId ?? b.draftId }),
          read,
        );
        add(
          "runPolicy",
          label,
          caller,
          `mutation($id: ID!, $data: JSONObject!) { runPolicy(baseId: $id, data: $data) { ${RUN_FIELDS} } }`,
          () => ({ id: b.baseId, data: DATA }),
          run,
        );
        add(
          "runPolicyRecord",
          label,
          caller,
          `mutation($id: ID!, $data: JSONObject!) { runPolicyRecord(recordId: $id, data: $data) { ${RUN_FIELDS} } }`,
          () => ({ id: b.versionId ?? b.draftId, data: DATA }),
          run,
        );
        add(
          "runPolicyBatch",
          label,
          caller,
          `mutation($id: ID!, $data: JSON!) { runPolicyBatch(baseId: $id, inputs: [$data]) { result } }`,
          () => ({ id: b.baseId, data: DATA }),
          run,
        );
        add("runStoredTests", label, caller, `mutation($id: ID!) { runStoredTests(recordId: $id) { passed } }`, () => ({ id: b.draftId }), run);
        const replay = baseGate(caller, "replay", ctx) ?? "ALLOW";
        add("recordingSettings", label, caller, `query($id: ID!) { recordingSettings(baseId: $id) { enabled } }`, () => ({ id: b.baseId }), replay);
        add(
          "previewImpact",
          label,
          caller,
          `query($id: ID!) { previewImpact(candidateRecordId: $id, sample: { last: 10 }) { counts { total } } }`,
          () => ({ id: b.draftId }),
          replay,
        );
        add("shadow", label, caller, `query($id: ID!) { shadow(baseId: $id) { recordId counts { runs } } }`, () => ({ id: b.baseId }), replay);
      }
      {
        const b = policy();
        add(
          "setShadow",
          label,
          caller,
          `mutation($id: ID!, $r: ID) { setShadow(input: { baseId: $id, recordId: $r }) { recordId } }`,
          () => ({ id: b.baseId, r: b.draftId }),
          baseGate(caller, "shadow", ctx) ?? "ALLOW",
        );
      }
      {
        const b = policy();
        add(
          "configureRecording",
          label,
          caller,
          `mutation($id: ID!) { configureRecording(input: { baseId: $id, enabled: true }) { enabled } }`,
          () => ({ id: b.baseId }),
          baseGate(caller, "recording", ctx) ?? "ALLOW",
        );
      }
      {
        const f = flow();
        add(
          "runFlow",
          label,
          caller,
          `mutation($id: ID!, $data: JSONObject!) { runFlow(baseId: $id, data: $data) { result } }`,
          () => ({ id: f.baseId, data: DATA }),
          run,
        );
        add(
          "runFlowRecord",
          label,
          caller,
          `mutation($id: ID!, $data: JSONObject!) { runFlowRecord(recordId: $id, data: $data) { result } }`,
          () => ({ id: f.versionId ?? f.draftId, data: DATA }),
          run,
        );
      }
      {
        const b = policy();
        add(
          "updateDraft",
          label,
          caller,
          `mutation($id: ID!) { updateDraft(input: { draftId: $id, expectedRevision: 1, description: "edited" }) { id } }`,
          () => ({ id: b.draftId }),
          baseGate(caller, "author", ctx, { ownership: true }) ?? "ALLOW",
        );
      }
      {
        // Asking for a publish is publishing as far as access goes; no policy governs it here, so it publishes.
        const b = policy();
        add(
          "publishDraftWithApproval",
          label,
          caller,
          `mutation($id: ID!) { publishDraftWithApproval(input: { draftId: $id, description: "next" }) { __typename } }`,
          () => ({ id: b.draftId }),
          baseGate(caller, "publish", ctx, { ownership: true }) ?? "ALLOW",
        );
      }
      {
        const b = policy();
        add(
          "publishDraft",
          label,
          caller,
          `mutation($id: ID!) { publishDraft(input: { draftId: $id, description: "next" }) { id } }`,
          () => ({ id: b.draftId }),
          baseGate(caller, "publish", ctx, { ownership: true }) ?? "ALLOW",
        );
      }
      if (ctx.state !== "never-published") {
        const b = policy();
        add(
          "createDraftFromVersion",
          label,
          caller,
          `mutation($id: ID!) { createDraftFromVersion(versionId: $id, replaceExisting: true) { id } }`,
          () => ({ id: b.versionId }),
          baseGate(caller, "author", ctx, { ownership: true }) ?? "ALLOW",
        );
      }
      {
        const b = policy();
        add(
          "deleteBase",
          label,
          caller,
          `mutation($id: ID!) { deleteBase(id: $id) { id } }`,
          () => ({ id: b.baseId }),
          baseGate(caller, "delete", ctx) ?? "ALLOW",
        );
      }
      {
        // No policy governs the matrix's deletes and restores, so the …WithApproval forms apply them at once.
        const b = policy();
        add(
          "deleteBaseWithApproval",
          label,
          caller,
          `mutation($id: ID!) { deleteBaseWithApproval(id: $id) { __typename } }`,
          () => ({ id: b.baseId }),
          baseGate(caller, "delete", ctx) ?? "ALLOW",
        );
      }
      {
        const b = policy();
        add(
          "restoreBaseWithApproval",
          label,
          caller,
          `mutation($id: ID!) { restoreBaseWithApproval(id: $id) { __typename } }`,
          () => ({ id: b.baseId }),
          baseGate(caller, "delete", ctx, { deletedIsTarget: true }) ?? (ctx.state === "deleted" ? "ALLOW" : "CONFLICT"),
        );
      }
      {
        const b = policy();
        add(
          "restoreBase",
          label,
          caller,
          `mutation($id: ID!) { restoreBase(id: $id) { id } }`,
          () => ({ id: b.baseId }),
          baseGate(caller, "delete", ctx, { deletedIsTarget: true }) ?? (ctx.state === "deleted" ? "ALLOW" : "CONFLICT"),
        );
      }
      {
        const b = policy();
        const to = A.users.target!.id;
        add(
          "transferOwnershipWithApproval",
          label,
          caller,
          `mutation($id: ID!, $to: ID!) { transferOwnershipWithApproval(baseId: $id, toUserId: $to) { __typename } }`,
          () => ({ id: b.baseId, to }),
          baseGate(caller, "transfer", ctx) ?? (ctx.state === "never-published" ? "ALLOW" : "CONFLICT"),
        );
      }
      {
        const b = policy();
        const to = A.users.target!.id;
        add(
          "transferOwnership",
          label,
          caller,
          `mutation($id: ID!, $to: ID!) { transferOwnership(baseId: $id, toUserId: $to) { id } }`,
          () => ({ id: b.baseId, to }),
          baseGate(caller, "transfer", ctx) ?? (ctx.state === "never-published" ? "ALLOW" : "CONFLICT"),
        );
      }
      {
        const organise = baseGate(caller, "author", ctx, { ownership: true }) ?? "ALLOW";
        const b1 = policy();
        add(
          "setBaseAlias",
          label,
          caller,
          `mutation($id: ID!, $a: String) { setBaseAlias(baseId: $id, alias: $a) { id } }`,
          () => ({ id: b1.baseId, a: `m-${randomUUID().slice(0, 8)}` }),
          organise,
        );
        const b2 = policy();
        add("addBaseTags", label, caller, `mutation($id: ID!) { addBaseTags(baseId: $id, tags: ["m"]) { id } }`, () => ({ id: b2.baseId }), organise);
        const b3 = policy();
        add("removeBaseTags", label, caller, `mutation($id: ID!) { removeBaseTags(baseId: $id, tags: ["m"]) { id } }`, () => ({ id: b3.baseId }), organise);
        const b4 = policy();
        add(
          "setBaseRiskLevel",
          label,
          caller,
          `mutation($id: ID!) { setBaseRiskLevel(baseId: $id, riskLevel: HIGH) { id } }`,
          () => ({ id: b4.baseId }),
          organise,
        );
        const b5 = policy();
        add(
          "lockBase",
          label,
          caller,
          `mutation($id: ID!) { lockBase(baseId: $id, reason: "m") { id } }`,
          () => ({ id: b5.baseId }),
          baseGate(caller, "lock", ctx) ?? "ALLOW",
        );
        const b6 = newBase({ ...specFor(caller, ctx, "POLICY"), locked: true });
        add(
          "unlockBase",
          label,
          caller,
          `mutation($id: ID!) { unlockBase(baseId: $id) { id } }`,
          () => ({ id: b6.baseId }),
          baseGate(caller, "lock", ctx) ?? "ALLOW",
        );
        const b7 = policy();
        add(
          "unlockBase",
          `${label}, not locked`,
          caller,
          `mutation($id: ID!) { unlockBase(baseId: $id) { id } }`,
          () => ({ id: b7.baseId }),
          baseGate(caller, "lock", ctx) ?? "CONFLICT",
        );
        const b9 = policy();
        add("exportBase", label, caller, `query($id: ID!) { exportBase(id: $id) }`, () => ({ id: b9.baseId }), read);
        // Importing as a new draft of an existing base: every fixture base has a draft already, so an allowed
        // caller gets CONFLICT (the import checks access first).
        const b10 = policy();
        const bundle = policyBundle(POLICY);
        add(
          "importBundle",
          `${label} as mapping target`,
          caller,
          `mutation($b: JSONObject!, $m: [BundleMappingInput!]) { importBundle(bundle: $b, mapping: $m) { dryRun } }`,
          () => ({ b: bundle, m: [{ source: bundle.root, target: b10.baseId }] }),
          baseGate(caller, "author", ctx, { ownership: true }) ?? "CONFLICT",
        );
        const b8 = newBase({ ...specFor(caller, ctx, "POLICY"), locked: true });
        add(
          "updateDraft",
          `${label}, locked`,
          caller,
          `mutation($id: ID!) { updateDraft(input: { draftId: $id, expectedRevision: 1, description: "edited" }) { id } }`,
          () => ({ id: b8.draftId }),
          baseGate(caller, "author", ctx, { ownership: true }) ?? "CONFLICT",
        );
      }
      {
        const b = policy();
        const groupOf = () => sharedGroup[A.id]!;
        add(
          "addGroupMember",
          label,
          caller,
          `mutation($b: ID!, $g: ID!) { addGroupMember(baseId: $b, groupId: $g) { id } }`,
          () => ({ b: b.baseId, g: groupOf() }),
          baseGate(caller, "editGroups", ctx) ?? "ALLOW",
        );
      }
      {
        const tenantId = ctx.tenant === "same" ? A.id : B.id;
        const groupId = newGroup(tenantId);
        const b = newBase({ ...specFor(caller, ctx, "POLICY"), groupId });
        // The group is in the base's tenant: for a foreign base both are foreign.
        add(
          "removeGroupMember",
          label,
          caller,
          `mutation($b: ID!, $g: ID!) { removeGroupMember(baseId: $b, groupId: $g) { id } }`,
          () => ({ b: b.baseId, g: groupId }),
          baseGate(caller, "editGroups", ctx) ?? "ALLOW",
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
const results = new Map<string, { case: Case; actual: string }[]>();
const timing = new Map<string, number>();

beforeAll(async () => {
  gateway = await startTestGateway();
  const { prisma } = gateway.database;
  const roleUsers = Object.fromEntries(ROLES.map((r) => [r.toLowerCase(), [r]])) as Record<string, Role[]>;
  const make = fixtures(prisma);
  A = await createTenant(prisma, { ...roleUsers, owner: ["EDITOR"], target: ["VIEWER"] });
  B = await createTenant(prisma, { owner: ["ADMIN"] });
  for (const tenant of [A, B]) {
    leafPolicy[tenant.id] = (await make.base(tenant).named("leaf").ownedBy("owner").versions(POLICY).create()).id;
    sharedGroup[tenant.id] = (await make.group(tenant).named("shared").create()).id;
  }
  callers.push({ name: "anonymous", kind: "anonymous", perms: new Set(), headers: {} });
  for (const role of ROLES) {
    const user = A.users[role.toLowerCase()]!;
    callers.push({
      name: `user:${role}`,
      kind: "user",
      perms: new Set(ROLE_PERMS[role]),
      userId: user.id,
      headers: { authorization: `Bearer ${await gateway.tokenFor(user.subject)}` },
    });
  }
  for (const scope of SCOPES) {
    const { key } = await createApiKey(prisma, A.id, [scope]);
    callers.push({ name: `key:${scope}`, kind: "apiKey", perms: new Set(ROLE_PERMS[SCOPE_ROLE[scope]]), headers: { "x-api-key": key } });
  }
  defineCases();
  defineSubscriptionCases();
  await insertPending();
  const started = Date.now();

  // Run everything once, with bounded concurrency; each `it` below then reports one operation.
  const queue = [...cases];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const t0 = performance.now();
      const response = await graphql(gateway.url, next.query, next.variables(), next.caller.headers);
      timing.set(next.op, (timing.get(next.op) ?? 0) + performance.now() - t0);
      const codes = (response.errors ?? []).map((e) => e.extensions?.code ?? "?");
      const actual = codes.length === 0 ? (response.data ? "ALLOW" : "NO DATA") : codes.length === 1 ? String(codes[0]) : codes.join(",");
      const list = results.get(next.op) ?? [];
      list.push({ case: next, actual: actual === next.expected ? actual : `${actual} (${response.errors?.[0]?.message ?? ""})` });
      results.set(next.op, list);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (process.env.MATRIX_TIMING)
    console.info(
      [...timing]
        .sort((a, b) => b[1] - a[1])
        .map(([op, ms]) => `${op} ${Math.round(ms)}ms/${results.get(op)!.length}`)
        .join("\n"),
    );
  console.info(`authorization matrix: ${cases.length} cases over ${ops.size} operations in ${Date.now() - started} ms`);
}, 240_000); // ~2,500 cases; a loaded 2-core machine needs more than the default hook time
afterAll(() => gateway?.stop());

describe("authorization matrix", () => {
  it("covers every root field of the schema", async () => {
    const response = await graphql(gateway.url, `{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`);
    const rootFields = [...response.data.__schema.queryType.fields, ...response.data.__schema.mutationType.fields].map((f: { name: string }) => f.name);
    expect(rootFields.filter((f) => !ops.has(f)).sort()).toEqual([]);
    expect(cases.length).toBeGreaterThan(500);
  });

  const OPS = [
    "version",
    "viewer",
    "bases",
    "groups",
    "users",
    "apiKeys",
    "auditEvents",
    "verifyAuditChain",
    "createPolicy",
    "createFlow",
    "runRule",
    "createGroup",
    "createApiKey",
    "validateRule",
    "explainRule",
    "languageOperators",
    "testFlow",
    "group",
    "updateGroup",
    "deleteGroup",
    "assignRoles",
    "removeRoles",
    "revokeApiKey",
    "base",
    "record",
    "records",
    "compareRecords",
    "runPolicy",
    "runPolicyRecord",
    "runPolicyBatch",
    "runStoredTests",
    "runFlow",
    "runFlowRecord",
    "updateDraft",
    "publishDraft",
    "createDraftFromVersion",
    "deleteBase",
    "restoreBase",
    "transferOwnership",
    "addGroupMember",
    "removeGroupMember",
    "approvalPolicies",
    "approvalPolicy",
    "createApprovalPolicy",
    "updateApprovalPolicy",
    "archiveApprovalPolicy",
    "restoreApprovalPolicy",
    "setBaseAlias",
    "addBaseTags",
    "removeBaseTags",
    "setBaseRiskLevel",
    "lockBase",
    "unlockBase",
    "exportBase",
    "importBundle",
    "recordingSettings",
    "previewImpact",
    "configureRecording",
    "shadow",
    "setShadow",
    "changeRequests",
    "changeRequest",
    "publishDraftWithApproval",
    "approveChangeRequest",
    "rejectChangeRequest",
    "withdrawChangeRequest",
    "deleteBaseWithApproval",
    "restoreBaseWithApproval",
    "transferOwnershipWithApproval",
    "assignRolesWithApproval",
    "createApiKeyWithApproval",
    "claimApprovedApiKey",
  ];
  for (const op of OPS) {
    it(op, () => {
      const outcomes = results.get(op) ?? [];
      expect(outcomes.length).toBeGreaterThan(0);
      const wrong = outcomes.filter((o) => o.actual !== o.case.expected).map((o) => `${o.case.label}: expected ${o.case.expected}, got ${o.actual}`);
      expect(wrong).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Subscriptions (graphql-ws on the same port): the same callers and contexts. A case is ALLOW once the
// gateway holds the subscription, else the code of the error it answered with. Run one at a time, since
// "holds the subscription" is read from the gateway's count of subscriptions.
interface SubscriptionCase {
  op: string;
  label: string;
  caller: Caller;
  query: string;
  variables: () => Record<string, unknown>;
  expected: Outcome;
}
const subscriptionCases: SubscriptionCase[] = [];

function defineSubscriptionCases(): void {
  const addSub = (op: string, label: string, caller: Caller, query: string, variables: () => Record<string, unknown>, expected: Outcome) =>
    subscriptionCases.push({ op, label: `${op} as ${caller.name} ${label}`.trim(), caller, query, variables, expected });
  for (const caller of callers) {
    addSub("auditEvents", "(subscription)", caller, `subscription { auditEvents { sequence } }`, () => ({}), gate(caller, "audit") ?? "ALLOW");
    addSub("changeRequestChanged", "(whole tenant)", caller, `subscription { changeRequestChanged { state } }`, () => ({}), gate(caller, "read") ?? "ALLOW");
    for (const ctx of baseContexts(caller)) {
      const ofBase = newBase(specFor(caller, ctx, "POLICY"));
      addSub(
        "changeRequestChanged",
        ctxLabel(ctx),
        caller,
        `subscription ($id: ID) { changeRequestChanged(baseId: $id) { state } }`,
        () => ({ id: ofBase.baseId }),
        baseGate(caller, "read", ctx) ?? "ALLOW",
      );
    }
    for (const ctx of baseContexts(caller)) {
      const base = newBase(specFor(caller, ctx, "POLICY"));
      addSub(
        "baseChanged",
        ctxLabel(ctx),
        caller,
        `subscription ($id: ID!) { baseChanged(baseId: $id) { change } }`,
        () => ({ id: base.baseId }),
        baseGate(caller, "read", ctx) ?? "ALLOW",
      );
    }
  }
}

async function subscriptionOutcome(c: SubscriptionCase): Promise<string> {
  const connection = subscriptionClient(gateway.url, c.caller.headers);
  const before = gateway.services.live.subscriberCount();
  const subscription = subscribe(connection.client, c.query, c.variables());
  let held = false;
  const registered = (async () => {
    while (!held && gateway.services.live.subscriberCount() === before) await new Promise((resolve) => setTimeout(resolve, 5));
    return "ALLOW";
  })();
  const answered = subscription.next().then((message) => (message.errors ?? []).map((e) => e.extensions?.code ?? e.message).join(",") || "NO ERROR");
  const outcome = await Promise.race([registered, answered]);
  held = true;
  subscription.unsubscribe();
  connection.dispose();
  while (gateway.services.live.subscriberCount() > before) await new Promise((resolve) => setTimeout(resolve, 5));
  return outcome;
}

describe("authorization matrix: subscriptions", () => {
  it("covers every subscription field of the schema", async () => {
    const response = await graphql(gateway.url, `{ __schema { subscriptionType { fields { name } } } }`);
    const fields = response.data.__schema.subscriptionType.fields.map((f: { name: string }) => f.name);
    expect(fields.filter((f: string) => !subscriptionCases.some((c) => c.op === f)).sort()).toEqual([]);
  });

  it("allows and refuses subscriptions exactly as the rules say", async () => {
    const wrong: string[] = [];
    for (const c of subscriptionCases) {
      const actual = await subscriptionOutcome(c);
      if (actual !== c.expected) wrong.push(`${c.label}: expected ${c.expected}, got ${actual}`);
    }
    expect(wrong).toEqual([]);
    expect(subscriptionCases.length).toBeGreaterThan(80);
  }, 120_000);
});

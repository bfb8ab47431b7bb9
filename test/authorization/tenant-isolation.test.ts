/**
 * Property: whatever two tenants do, in whatever order, neither ever sees, counts, runs or changes the
 * other's data. fast-check generates sequences of operations for two tenants, each either an ordinary
 * operation on the tenant's own data or an attempt on an ID that belongs to the other tenant. After every
 * attempt the victim's rows must be unchanged and the answer must be NOT_FOUND (exactly like a missing ID);
 * listings and counts of each tenant must equal what a model of that tenant alone predicts.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
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

const POLICY = `A **Person** gets approved if __age__ of **Person** is greater than 18.`;
const DATA = { Person: { age: 30 } };
const NEVER = `A **Change** needs approval if __size__ of **Change** is greater than 1000000000.`;
/** Each tenant's publishes of bases named "gated-…" need approval; its other bases publish as before. */
const GATED = `A **Change** needs approval if __base name__ of **Change** contains "gated-".`;

interface BaseModel {
  id: string;
  kind: "POLICY" | "FLOW";
  draftId: string | null;
  revision: number;
  versionIds: string[];
  deleted: boolean;
  alias?: string;
  /** Named "gated-…": its publish is a change request. */
  gated?: boolean;
}
interface TenantModel {
  tenant: TestTenant;
  admin: Record<string, string>;
  viewKey: Record<string, string>;
  bases: BaseModel[];
  groups: string[];
  members: Set<string>;
  keys: { id: string; revoked: boolean }[];
  userIds: string[];
  /** `fixed`: the tenant's "gated-" policy, which the commands never archive. */
  approvalPolicies: { id: string; archived: boolean; fixed?: boolean }[];
  changeRequests: { id: string; state: "PENDING" | "WITHDRAWN" }[];
}

type Own =
  | { t: 0 | 1; op: "create"; kind: "POLICY" | "FLOW" }
  | { t: 0 | 1; op: "publish" | "update" | "delete" | "restore" | "run" | "draftFromVersion" | "alias" | "shadow"; pick: number }
  | { t: 0 | 1; op: "createGroup" }
  | { t: 0 | 1; op: "addMember"; pick: number; group: number }
  | { t: 0 | 1; op: "createKey" | "createKeyWithApproval" }
  | { t: 0 | 1; op: "revokeKey"; pick: number }
  | { t: 0 | 1; op: "createApprovalPolicy" }
  | { t: 0 | 1; op: "archiveApprovalPolicy" | "restoreApprovalPolicy"; pick: number }
  | { t: 0 | 1; op: "requestPublish" }
  | { t: 0 | 1; op: "withdrawRequest"; pick: number };
const ATTACKS = [
  "base",
  "record",
  "records",
  "run",
  "runRecord",
  "runBatch",
  "runFlow",
  "update",
  "publish",
  "draftFromVersion",
  "delete",
  "restore",
  "transfer",
  "group",
  "updateGroup",
  "deleteGroup",
  "addForeignBase",
  "addToForeignGroup",
  "revokeKey",
  "assignRoles",
  "flowOverForeignPolicy",
  "restRunPolicy",
  "restRunRecord",
  "restRunFlow",
  "restFlowOverForeignPolicy",
  "approvalPolicy",
  "updateApprovalPolicy",
  "archiveApprovalPolicy",
  "restoreApprovalPolicy",
  "setAlias",
  "addTags",
  "removeTags",
  "setRisk",
  "lock",
  "unlock",
  "baseByAlias",
  "runByAlias",
  "restRunByAlias",
  "flowOverForeignAlias",
  "export",
  "importOntoForeign",
  "recordingSettings",
  "configureRecording",
  "previewImpact",
  "shadow",
  "setShadow",
  "setShadowToForeignRecord",
  "changeRequest",
  "approveChangeRequest",
  "rejectChangeRequest",
  "withdrawChangeRequest",
  "deleteWithApproval",
  "restoreWithApproval",
  "publishWithApproval",
  "transferWithApproval",
  "assignRolesWithApproval",
  "claimApprovedApiKey",
] as const;
/** The REST shim's routes answer 404 with a code of their own for a foreign ID. */
const REST_ATTACKS = new Set<string>(["restRunPolicy", "restRunRecord", "restRunFlow", "restFlowOverForeignPolicy", "restRunByAlias"]);
type Attack = { t: 0 | 1; op: "attack"; attack: (typeof ATTACKS)[number]; pick: number };
type Command = Own | Attack;

const tenantIndex = fc.constantFrom<0 | 1>(0, 1);
const pick = fc.nat(50);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ t: tenantIndex, op: fc.constant("create" as const), kind: fc.constantFrom<"POLICY" | "FLOW">("POLICY", "FLOW") }),
  fc.record({
    t: tenantIndex,
    op: fc.constantFrom(
      "publish" as const,
      "update" as const,
      "delete" as const,
      "restore" as const,
      "run" as const,
      "draftFromVersion" as const,
      "alias" as const,
      "shadow" as const,
    ),
    pick,
  }),
  fc.record({ t: tenantIndex, op: fc.constant("createGroup" as const) }),
  fc.record({ t: tenantIndex, op: fc.constant("addMember" as const), pick, group: pick }),
  fc.record({ t: tenantIndex, op: fc.constantFrom("createKey" as const, "createKeyWithApproval" as const) }),
  fc.record({ t: tenantIndex, op: fc.constant("revokeKey" as const), pick }),
  fc.record({ t: tenantIndex, op: fc.constant("createApprovalPolicy" as const) }),
  fc.record({ t: tenantIndex, op: fc.constantFrom("archiveApprovalPolicy" as const, "restoreApprovalPolicy" as const), pick }),
  fc.record({ t: tenantIndex, op: fc.constant("requestPublish" as const) }),
  fc.record({ t: tenantIndex, op: fc.constant("withdrawRequest" as const), pick }),
  { arbitrary: fc.record({ t: tenantIndex, op: fc.constant("attack" as const), attack: fc.constantFrom(...ATTACKS), pick }), weight: 5 },
);

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.stop());

const flowOver = (policyBaseId: string) =>
  `flow:\n  start:\n    - id: s\n      type: start\n      policyId: ${policyBaseId}\n      onTrue:\n        - id: y\n          type: return\n          returnValue: true\n      onFalse:\n        - id: n\n          type: return\n          returnValue: false\n`;

async function newTenantModel(): Promise<TenantModel> {
  const { prisma } = gateway.database;
  const tenant = await createTenant(prisma, { admin: ["ADMIN"], viewer: ["VIEWER"] });
  const { key, id } = await createApiKey(prisma, tenant.id, ["VIEW"]);
  // Each tenant has one published policy from the start, so flows have something to run.
  const leaf = await fixtures(prisma).base(tenant).named("leaf").ownedBy("admin").versions(POLICY).create();
  const gate = await prisma.approvalPolicy.create({
    data: { tenantId: tenant.id, name: "gated", action: "PUBLISH", conditions: GATED, approverRoles: ["ADMIN"], approverUserIds: [], bypassRoles: [] },
  });
  return {
    tenant,
    admin: { authorization: `Bearer ${await gateway.tokenFor(tenant.users.admin!.subject)}` },
    viewKey: { "x-api-key": key },
    bases: [{ id: leaf.id, kind: "POLICY", draftId: null, revision: 0, versionIds: leaf.versionIds, deleted: false }],
    groups: [],
    members: new Set(),
    keys: [{ id, revoked: false }],
    userIds: Object.values(tenant.users).map((u) => u.id),
    approvalPolicies: [{ id: gate.id, archived: false, fixed: true }],
    changeRequests: [],
  };
}

/** Every row of the tenant that any operation could change, in a stable order. */
async function snapshot(tenantId: string): Promise<string> {
  const { prisma } = gateway.database;
  // Shadow counts of the tenant's own earlier runs are written a moment later: not a change made by the attack.
  await gateway.services.shadowRunner.flush();
  const where = { tenantId };
  const rows = await Promise.all([
    prisma.base.findMany({ where, orderBy: { id: "asc" } }),
    prisma.draft.findMany({ where, orderBy: { id: "asc" } }),
    prisma.version.findMany({ where, orderBy: { id: "asc" } }),
    prisma.group.findMany({ where, orderBy: { id: "asc" } }),
    prisma.groupMember.findMany({ where, orderBy: [{ groupId: "asc" }, { baseId: "asc" }] }),
    prisma.user.findMany({ where, orderBy: { id: "asc" } }),
    prisma.apiKey.findMany({ where, orderBy: { id: "asc" }, select: { id: true, revokedAt: true, scopes: true, name: true } }),
    prisma.approvalPolicy.findMany({ where, orderBy: { id: "asc" } }),
    prisma.changeRequest.findMany({ where, orderBy: { id: "asc" } }),
    prisma.changeRequestDecision.findMany({ where, orderBy: { id: "asc" } }),
    prisma.auditEvent.count({ where }),
    prisma.baseRecording.findMany({ where, orderBy: { baseId: "asc" } }),
    prisma.recordedInputChunk.count({ where }),
    prisma.baseShadow.findMany({ where, orderBy: { baseId: "asc" } }),
    prisma.shadowDisagreement.count({ where }),
  ]);
  return JSON.stringify(rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

const at = <T>(items: readonly T[], n: number): T | undefined => (items.length ? items[n % items.length] : undefined);
const codes = (r: { errors?: { extensions?: { code?: string } }[] }) => (r.errors ?? []).map((e) => e.extensions?.code);

async function apply(command: Command, models: [TenantModel, TenantModel]): Promise<void> {
  const me = models[command.t];
  const them = models[1 - command.t]!;
  const gql = (query: string, variables: Record<string, unknown> = {}, headers = me.admin) => graphql(gateway.url, query, variables, headers);
  const live = me.bases.filter((b) => !b.deleted);

  if (command.op === "attack") {
    const victim = them;
    const theirBase = at(victim.bases, command.pick);
    const theirPolicy = at(
      victim.bases.filter((b) => b.kind === "POLICY"),
      command.pick,
    );
    const theirRecord = theirBase ? (theirBase.draftId ?? theirBase.versionIds.at(-1)!) : randomUUID();
    const theirVersion =
      at(
        victim.bases.flatMap((b) => b.versionIds),
        command.pick,
      ) ?? randomUUID();
    const theirDraft =
      at(
        victim.bases.flatMap((b) => (b.draftId ? [b.draftId] : [])),
        command.pick,
      ) ?? randomUUID();
    const theirGroup = at(victim.groups, command.pick) ?? randomUUID();
    const theirKey = at(victim.keys, command.pick)?.id ?? randomUUID();
    const theirUser = at(victim.userIds, command.pick)!;
    const theirApprovalPolicy = at(victim.approvalPolicies, command.pick)?.id ?? randomUUID();
    const theirRequest = at(victim.changeRequests, command.pick)?.id ?? randomUUID();
    const baseId = theirBase?.id ?? randomUUID();
    // An alias the victim holds (aliases are unique across both tenants here, so mine never answers for it).
    const theirAlias =
      at(
        victim.bases.filter((b) => b.alias && !b.deleted),
        command.pick,
      )?.alias ?? `none-${command.pick}`;
    const myGroup = at(me.groups, command.pick);
    const myBase = at(live, command.pick);
    const rest = async (path: string, body: unknown) => {
      const response = await fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...me.viewKey },
        body: JSON.stringify(body),
      });
      return { status: response.status, data: null, body: (await response.json()) as { code?: string }, errors: undefined };
    };
    type Answer = { status: number; data?: unknown; errors?: { extensions?: { code?: string } }[]; body?: { code?: string } };
    const attempts: Record<(typeof ATTACKS)[number], () => Promise<Answer>> = {
      restRunPolicy: () => rest(`/run/policy/${theirPolicy?.id ?? baseId}`, { data: DATA }),
      restRunRecord: () => rest(`/run/policy_version/${theirRecord}`, { data: DATA }),
      restRunFlow: () => rest(`/run/flow/${baseId}`, { data: DATA }),
      restFlowOverForeignPolicy: () => rest(`/flow/test`, { flow: flowOver(theirPolicy?.id ?? baseId), data: DATA }),
      base: () => gql(`query($id: ID!) { base(id: $id) { id } }`, { id: baseId }),
      record: () => gql(`query($id: ID!) { record(id: $id) { id } }`, { id: theirRecord }),
      records: () => gql(`query($id: ID!) { records(baseId: $id) { id } }`, { id: baseId }),
      run: () =>
        gql(`mutation($id: ID!, $d: JSONObject!) { runPolicy(baseId: $id, data: $d) { result } }`, { id: theirPolicy?.id ?? baseId, d: DATA }, me.viewKey),
      runRecord: () =>
        gql(`mutation($id: ID!, $d: JSONObject!) { runPolicyRecord(recordId: $id, data: $d) { result } }`, { id: theirRecord, d: DATA }, me.viewKey),
      runBatch: () => gql(`mutation($id: ID!, $d: JSON!) { runPolicyBatch(baseId: $id, inputs: [$d]) { result } }`, { id: baseId, d: DATA }, me.viewKey),
      runFlow: () => gql(`mutation($id: ID!, $d: JSONObject!) { runFlow(baseId: $id, data: $d) { result } }`, { id: baseId, d: DATA }, me.viewKey),
      update: () => gql(`mutation($id: ID!) { updateDraft(input: { draftId: $id, expectedRevision: 1, content: "x" }) { id } }`, { id: theirDraft }),
      publish: () => gql(`mutation($id: ID!) { publishDraft(input: { draftId: $id, description: "pwn" }) { id } }`, { id: theirDraft }),
      draftFromVersion: () => gql(`mutation($id: ID!) { createDraftFromVersion(versionId: $id, replaceExisting: true) { id } }`, { id: theirVersion }),
      delete: () => gql(`mutation($id: ID!) { deleteBase(id: $id) { id } }`, { id: theirRecord }),
      restore: () => gql(`mutation($id: ID!) { restoreBase(id: $id) { id } }`, { id: baseId }),
      transfer: () => gql(`mutation($id: ID!, $to: ID!) { transferOwnership(baseId: $id, toUserId: $to) { id } }`, { id: baseId, to: me.userIds[0] }),
      recordingSettings: () => gql(`query($id: ID!) { recordingSettings(baseId: $id) { enabled } }`, { id: baseId }),
      configureRecording: () => gql(`mutation($id: ID!) { configureRecording(input: { baseId: $id, enabled: true }) { enabled } }`, { id: baseId }),
      previewImpact: () => gql(`query($id: ID!) { previewImpact(candidateRecordId: $id, sample: { last: 5 }) { counts { total } } }`, { id: theirRecord }),
      shadow: () => gql(`query($id: ID!) { shadow(baseId: $id) { recordId } }`, { id: baseId }),
      setShadow: () => gql(`mutation($id: ID!, $r: ID) { setShadow(input: { baseId: $id, recordId: $r }) { recordId } }`, { id: baseId, r: theirRecord }),
      // My own policy shadowed by the other tenant's record: the record is simply unknown.
      setShadowToForeignRecord: () =>
        gql(`mutation($id: ID!, $r: ID) { setShadow(input: { baseId: $id, recordId: $r }) { recordId } }`, {
          id:
            at(
              live.filter((b) => b.kind === "POLICY"),
              command.pick,
            )?.id ?? randomUUID(),
          r: theirRecord,
        }),
      group: () => gql(`query($id: ID!) { group(id: $id) { id } }`, { id: theirGroup }),
      updateGroup: () => gql(`mutation($id: ID!) { updateGroup(id: $id, input: { name: "pwned" }) { id } }`, { id: theirGroup }),
      deleteGroup: () => gql(`mutation($id: ID!) { deleteGroup(id: $id) }`, { id: theirGroup }),
      addForeignBase: () => gql(`mutation($b: ID!, $g: ID!) { addGroupMember(baseId: $b, groupId: $g) { id } }`, { b: baseId, g: myGroup ?? randomUUID() }),
      addToForeignGroup: () =>
        gql(`mutation($b: ID!, $g: ID!) { addGroupMember(baseId: $b, groupId: $g) { id } }`, { b: myBase?.id ?? randomUUID(), g: theirGroup }),
      revokeKey: () => gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: theirKey }),
      assignRoles: () => gql(`mutation($id: ID!) { assignRoles(userId: $id, roles: [ADMIN]) { id } }`, { id: theirUser }),
      approvalPolicy: () => gql(`query($id: ID!) { approvalPolicy(id: $id) { id } }`, { id: theirApprovalPolicy }),
      updateApprovalPolicy: () => gql(`mutation($id: ID!) { updateApprovalPolicy(id: $id, input: { name: "pwned" }) { id } }`, { id: theirApprovalPolicy }),
      archiveApprovalPolicy: () => gql(`mutation($id: ID!) { archiveApprovalPolicy(id: $id) { id } }`, { id: theirApprovalPolicy }),
      restoreApprovalPolicy: () => gql(`mutation($id: ID!) { restoreApprovalPolicy(id: $id) { id } }`, { id: theirApprovalPolicy }),
      export: () => gql(`query($id: ID!) { exportBase(id: $id) }`, { id: baseId }),
      changeRequest: () => gql(`query($id: ID!) { changeRequest(id: $id) { id } }`, { id: theirRequest }),
      approveChangeRequest: () => gql(`mutation($id: ID!) { approveChangeRequest(id: $id) { id } }`, { id: theirRequest }),
      rejectChangeRequest: () => gql(`mutation($id: ID!) { rejectChangeRequest(id: $id, comment: "no") { id } }`, { id: theirRequest }),
      withdrawChangeRequest: () => gql(`mutation($id: ID!) { withdrawChangeRequest(id: $id) { id } }`, { id: theirRequest }),
      deleteWithApproval: () => gql(`mutation($id: ID!) { deleteBaseWithApproval(id: $id) { __typename } }`, { id: theirRecord }),
      restoreWithApproval: () => gql(`mutation($id: ID!) { restoreBaseWithApproval(id: $id) { __typename } }`, { id: baseId }),
      transferWithApproval: () =>
        gql(`mutation($id: ID!, $to: ID!) { transferOwnershipWithApproval(baseId: $id, toUserId: $to) { __typename } }`, { id: baseId, to: me.userIds[0] }),
      assignRolesWithApproval: () => gql(`mutation($id: ID!) { assignRolesWithApproval(userId: $id, roles: [ADMIN]) { __typename } }`, { id: theirUser }),
      claimApprovedApiKey: () => gql(`mutation($id: ID!) { claimApprovedApiKey(changeRequestId: $id) { secretShownOnce } }`, { id: theirRequest }),
      publishWithApproval: () =>
        gql(`mutation($id: ID!) { publishDraftWithApproval(input: { draftId: $id, description: "pwn" }) { __typename } }`, { id: theirDraft }),
      importOntoForeign: () => {
        const bundle = policyBundle(POLICY);
        return gql(`mutation($b: JSONObject!, $m: [BundleMappingInput!]) { importBundle(bundle: $b, mapping: $m) { dryRun } }`, {
          b: bundle,
          m: [{ source: bundle.root, target: baseId }],
        });
      },
      setAlias: () => gql(`mutation($id: ID!) { setBaseAlias(baseId: $id, alias: "stolen") { id } }`, { id: baseId }),
      addTags: () => gql(`mutation($id: ID!) { addBaseTags(baseId: $id, tags: ["x"]) { id } }`, { id: baseId }),
      removeTags: () => gql(`mutation($id: ID!) { removeBaseTags(baseId: $id, tags: ["x"]) { id } }`, { id: baseId }),
      setRisk: () => gql(`mutation($id: ID!) { setBaseRiskLevel(baseId: $id, riskLevel: HIGH) { id } }`, { id: baseId }),
      lock: () => gql(`mutation($id: ID!) { lockBase(baseId: $id, reason: "x") { id } }`, { id: baseId }),
      unlock: () => gql(`mutation($id: ID!) { unlockBase(baseId: $id) { id } }`, { id: baseId }),
      baseByAlias: () => gql(`query($id: ID!) { base(id: $id) { id } }`, { id: theirAlias }),
      runByAlias: () => gql(`mutation($id: ID!, $d: JSONObject!) { runPolicy(baseId: $id, data: $d) { result } }`, { id: theirAlias, d: DATA }, me.viewKey),
      restRunByAlias: () => rest(`/run/policy/${theirAlias}`, { data: DATA }),
      flowOverForeignAlias: () =>
        gql(`mutation($f: String!, $d: JSONObject!) { testFlow(definition: $f, data: $d) { result } }`, { f: flowOver(theirAlias), d: DATA }, me.viewKey),
      flowOverForeignPolicy: () =>
        gql(
          `mutation($f: String!, $d: JSONObject!) { testFlow(definition: $f, data: $d) { result } }`,
          { f: flowOver(theirPolicy?.id ?? baseId), d: DATA },
          me.viewKey,
        ),
    };
    const before = await snapshot(victim.tenant.id);
    const response = await attempts[command.attack]();
    if (REST_ATTACKS.has(command.attack)) {
      expect(response.status, `${command.attack} on the other tenant`).toBe(404);
      expect(response.body?.code).toMatch(/^(POLICY|FLOW)_NOT_FOUND$|^NOT_FOUND$/);
    } else {
      expect(codes(response), `${command.attack} on the other tenant`).toEqual(["NOT_FOUND"]);
      expect(response.data ?? null).toBeNull();
    }
    expect(await snapshot(victim.tenant.id), `${command.attack} changed the other tenant`).toBe(before);
    return;
  }

  switch (command.op) {
    case "create": {
      const mutation = command.kind === "POLICY" ? "createPolicy" : "createFlow";
      const content = command.kind === "POLICY" ? POLICY : flowOver(me.bases[0]!.id);
      const r = await gql(`mutation($i: CreateResourceInput!) { ${mutation}(input: $i) { id base { id } } }`, { i: { name: `n-${randomUUID()}`, content } });
      const draft = r.data[mutation];
      me.bases.push({ id: draft.base.id, kind: command.kind, draftId: draft.id, revision: 1, versionIds: [], deleted: false });
      return;
    }
    case "publish": {
      const b = at(
        live.filter((x) => x.draftId && !x.gated),
        command.pick,
      );
      if (!b) return;
      const r = await gql(`mutation($id: ID!) { publishDraft(input: { draftId: $id, description: "v" }) { id } }`, { id: b.draftId });
      expect(r.errors).toBeUndefined();
      b.versionIds.push(r.data.publishDraft.id);
      b.draftId = null;
      return;
    }
    case "update": {
      const b = at(
        live.filter((x) => x.draftId),
        command.pick,
      );
      if (!b) return;
      const r = await gql(`mutation($id: ID!, $rev: Int!) { updateDraft(input: { draftId: $id, expectedRevision: $rev, description: "d" }) { revision } }`, {
        id: b.draftId,
        rev: b.revision,
      });
      expect(r.errors).toBeUndefined();
      b.revision = r.data.updateDraft.revision;
      return;
    }
    case "draftFromVersion": {
      const b = at(
        live.filter((x) => x.versionIds.length),
        command.pick,
      );
      if (!b) return;
      const r = await gql(`mutation($id: ID!) { createDraftFromVersion(versionId: $id, replaceExisting: true) { id revision } }`, { id: b.versionIds.at(-1) });
      expect(r.errors).toBeUndefined();
      b.draftId = r.data.createDraftFromVersion.id;
      b.revision = r.data.createDraftFromVersion.revision;
      return;
    }
    case "delete": {
      const b = at(live.slice(1), command.pick); // keep the leaf policy that flows use
      if (!b) return;
      expect((await gql(`mutation($id: ID!) { deleteBase(id: $id) { id } }`, { id: b.id })).errors).toBeUndefined();
      b.deleted = true;
      return;
    }
    case "restore": {
      const b = at(
        me.bases.filter((x) => x.deleted),
        command.pick,
      );
      if (!b) return;
      expect((await gql(`mutation($id: ID!) { restoreBase(id: $id) { id } }`, { id: b.id })).errors).toBeUndefined();
      b.deleted = false;
      return;
    }
    case "alias": {
      const b = at(
        live.filter((x) => !x.alias),
        command.pick,
      );
      if (!b) return;
      const alias = `a-${randomUUID().slice(0, 13)}`;
      const r = await gql(`mutation($id: ID!, $a: String) { setBaseAlias(baseId: $id, alias: $a) { alias } }`, { id: b.id, a: alias });
      expect(r.errors).toBeUndefined();
      b.alias = alias;
      return;
    }
    case "shadow": {
      // The base's own draft (else latest version) shadows it, so later runs are compared in this tenant only.
      const b = at(live, command.pick);
      const recordId = b?.draftId ?? b?.versionIds.at(-1);
      if (!b || !recordId) return;
      const r = await gql(`mutation($id: ID!, $r: ID) { setShadow(input: { baseId: $id, recordId: $r }) { recordId } }`, { id: b.id, r: recordId });
      expect(r.errors).toBeUndefined();
      expect(r.data.setShadow.recordId).toBe(recordId);
      return;
    }
    case "run": {
      const b = at(live, command.pick);
      if (!b) return;
      const field = b.kind === "POLICY" ? "runPolicy" : "runFlow";
      const r = await gql(`mutation($id: ID!, $d: JSONObject!) { ${field}(baseId: $id, data: $d) { result } }`, { id: b.id, d: DATA }, me.viewKey);
      expect(r.errors).toBeUndefined();
      expect(r.data[field].result).toBe(true);
      return;
    }
    case "createGroup": {
      const r = await gql(`mutation($n: String!) { createGroup(input: { name: $n }) { id } }`, { n: `g-${randomUUID()}` });
      me.groups.push(r.data.createGroup.id);
      return;
    }
    case "addMember": {
      const b = at(live, command.pick);
      const g = at(me.groups, command.group);
      if (!b || !g) return;
      expect((await gql(`mutation($b: ID!, $g: ID!) { addGroupMember(baseId: $b, groupId: $g) { id } }`, { b: b.id, g })).errors).toBeUndefined();
      me.members.add(`${g}:${b.id}`);
      return;
    }
    case "createKey": {
      const r = await gql(`mutation { createApiKey(input: { name: "k", scopes: [VIEW] }) { apiKey { id } } }`);
      me.keys.push({ id: r.data.createApiKey.apiKey.id, revoked: false });
      return;
    }
    case "createKeyWithApproval": {
      // No policy governs CREATE_API_KEY here: the key is created at once, in this tenant only.
      const r = await gql(`mutation { createApiKeyWithApproval(input: { name: "k", scopes: [VIEW] }) { __typename ... on CreatedApiKey { apiKey { id } } } }`);
      expect(r.errors).toBeUndefined();
      expect(r.data.createApiKeyWithApproval.__typename).toBe("CreatedApiKey");
      me.keys.push({ id: r.data.createApiKeyWithApproval.apiKey.id, revoked: false });
      return;
    }
    case "revokeKey": {
      const k = at(
        me.keys.slice(1).filter((x) => !x.revoked),
        command.pick,
      ); // keep the key the runs use
      if (!k) return;
      expect((await gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: k.id })).errors).toBeUndefined();
      k.revoked = true;
      return;
    }
    case "createApprovalPolicy": {
      // Governs DELETE with a condition that never holds, so the tenant's own operations above stay ungated.
      const input = { name: `ap-${randomUUID()}`, action: "DELETE", approverRoles: ["ADMIN"], conditions: NEVER };
      const r = await gql(`mutation($i: CreateApprovalPolicyInput!) { createApprovalPolicy(input: $i) { id } }`, { i: input });
      expect(r.errors).toBeUndefined();
      me.approvalPolicies.push({ id: r.data.createApprovalPolicy.id, archived: false });
      return;
    }
    case "requestPublish": {
      // A new "gated-" policy whose publish the tenant's own policy turns into a change request.
      const created = await gql(`mutation($i: CreateResourceInput!) { createPolicy(input: $i) { id base { id } } }`, {
        i: { name: `gated-${randomUUID()}`, content: POLICY },
      });
      const draft = created.data.createPolicy;
      me.bases.push({ id: draft.base.id, kind: "POLICY", draftId: draft.id, revision: 1, versionIds: [], deleted: false, gated: true });
      const r = await gql(
        `mutation($id: ID!) { publishDraftWithApproval(input: { draftId: $id, description: "v" }) { __typename ... on ChangeRequest { id } } }`,
        {
          id: draft.id,
        },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.publishDraftWithApproval.__typename).toBe("ChangeRequest");
      me.changeRequests.push({ id: r.data.publishDraftWithApproval.id, state: "PENDING" });
      return;
    }
    case "withdrawRequest": {
      const cr = at(
        me.changeRequests.filter((x) => x.state === "PENDING"),
        command.pick,
      );
      if (!cr) return;
      expect((await gql(`mutation($id: ID!) { withdrawChangeRequest(id: $id) { state } }`, { id: cr.id })).errors).toBeUndefined();
      cr.state = "WITHDRAWN";
      return;
    }
    case "archiveApprovalPolicy":
    case "restoreApprovalPolicy": {
      const archive = command.op === "archiveApprovalPolicy";
      const p = at(
        me.approvalPolicies.filter((x) => x.archived !== archive && !x.fixed),
        command.pick,
      );
      if (!p) return;
      expect((await gql(`mutation($id: ID!) { ${command.op}(id: $id) { id } }`, { id: p.id })).errors).toBeUndefined();
      p.archived = archive;
      return;
    }
  }
}

const OBSERVE = [
  `{ bases(first: 100) { totalCount edges { node { id } } } }`,
  // The admins' explicit listing of every owner's bases is still only their own tenant's.
  `{ allOwners: bases(first: 100, filter: { allOwners: true }) { totalCount edges { node { id } } } }`,
  `{ groups(first: 100) { totalCount edges { node { id } } } }`,
  `{ users(first: 100) { totalCount edges { node { id } } } }`,
  `{ apiKeys(first: 100, includeRevoked: true) { totalCount edges { node { id } } } }`,
  `{ auditEvents(first: 100) { edges { node { baseId groupId actorId } } } }`,
  `{ approvalPolicies(first: 100, includeArchived: true) { totalCount edges { node { id archivedAt } } } }`,
  `{ changeRequests(first: 100) { totalCount edges { node { id state } } } }`,
];
const GROUP = `query($id: ID!) { group(id: $id) { policies(first: 100) { totalCount edges { node { id } } } flows(first: 100) { totalCount edges { node { id } } } } }`;

/** What each tenant sees and counts is exactly its own model, nothing of the other's. */
async function observe(models: [TenantModel, TenantModel]): Promise<void> {
  for (const [i, me] of models.entries()) {
    const other = models[1 - i]!;
    const parts = await Promise.all(OBSERVE.map((q) => graphql(gateway.url, q, {}, me.admin)));
    for (const part of parts) expect(part.errors).toBeUndefined();
    const r = { data: Object.assign({}, ...parts.map((p) => p.data)) };
    const ids = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id).sort();
    const liveIds = me.bases
      .filter((b) => !b.deleted)
      .map((b) => b.id)
      .sort();
    expect(ids(r.data.bases)).toEqual(liveIds);
    expect(r.data.bases.totalCount).toBe(liveIds.length);
    expect(ids(r.data.allOwners)).toEqual(liveIds);
    expect(r.data.allOwners.totalCount).toBe(liveIds.length);
    expect(ids(r.data.groups)).toEqual([...me.groups].sort());
    expect(r.data.groups.totalCount).toBe(me.groups.length);
    for (const groupId of me.groups) {
      const g = (await graphql(gateway.url, GROUP, { id: groupId }, me.admin)).data.group;
      const members = [...ids(g.policies), ...ids(g.flows)].sort();
      const expected = me.bases
        .filter((b) => !b.deleted && me.members.has(`${groupId}:${b.id}`))
        .map((b) => b.id)
        .sort();
      expect(members).toEqual(expected);
      expect(g.policies.totalCount + g.flows.totalCount).toBe(expected.length);
    }
    expect(ids(r.data.users)).toEqual([...me.userIds].sort());
    expect(r.data.users.totalCount).toBe(me.userIds.length);
    expect(ids(r.data.apiKeys)).toEqual(me.keys.map((k) => k.id).sort());
    expect(r.data.apiKeys.totalCount).toBe(me.keys.length);
    expect(
      r.data.approvalPolicies.edges.map((e: { node: { id: string; archivedAt: string | null } }) => `${e.node.id}:${e.node.archivedAt !== null}`).sort(),
    ).toEqual(me.approvalPolicies.map((p) => `${p.id}:${p.archived}`).sort());
    expect(r.data.changeRequests.edges.map((e: { node: { id: string; state: string } }) => `${e.node.id}:${e.node.state}`).sort()).toEqual(
      me.changeRequests.map((c) => `${c.id}:${c.state}`).sort(),
    );
    expect(r.data.changeRequests.totalCount).toBe(me.changeRequests.length);
    const foreign = new Set([other.tenant.id, ...other.bases.map((b) => b.id), ...other.groups, ...other.userIds, ...other.keys.map((k) => k.id)]);
    for (const e of r.data.auditEvents.edges) {
      for (const id of [e.node.baseId, e.node.groupId, e.node.actorId]) expect(id && foreign.has(id), `audit event naming the other tenant: ${id}`).toBeFalsy();
    }
  }
  // And in the database, every run was recorded in the tenant of the base that ran.
  const misattributed = await gateway.database.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM audit_events e JOIN bases b ON b.id = e.base_id WHERE e.tenant_id <> b.tenant_id`;
  expect(Number(misattributed[0]!.n)).toBe(0);
  // Shadow counts and disagreements, likewise, only ever in the tenant of their base.
  await gateway.services.shadowRunner.flush();
  const foreignShadows = await gateway.database.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT (SELECT count(*) FROM base_shadows s JOIN bases b ON b.id = s.base_id WHERE s.tenant_id <> b.tenant_id)
         + (SELECT count(*) FROM shadow_disagreements d JOIN bases b ON b.id = d.base_id WHERE d.tenant_id <> b.tenant_id)
         + (SELECT count(*) FROM base_shadows s JOIN drafts r ON r.id = s.record_id WHERE r.base_id <> s.base_id)
         + (SELECT count(*) FROM base_shadows s JOIN versions r ON r.id = s.record_id WHERE r.base_id <> s.base_id) AS n`;
  expect(Number(foreignShadows[0]!.n)).toBe(0);
}

/** Each tenant's admin follows its audit log over graphql-ws while the commands run. */
async function openLiveStreams(models: [TenantModel, TenantModel]) {
  const before = gateway.services.live.subscriberCount();
  const streams = models.map((m) => {
    const connection = subscriptionClient(gateway.url, m.admin);
    return { connection, events: subscribe(connection.client, `subscription { auditEvents { sequence baseId groupId actorId } }`) };
  });
  while (gateway.services.live.subscriberCount() < before + 2) await new Promise((resolve) => setTimeout(resolve, 10));
  return streams;
}

/**
 * Each admin's stream carried exactly its own tenant's new events — contiguous sequences up to the log's end,
 * none naming the other tenant — and subscribing to the other tenant's bases answers NOT_FOUND.
 */
async function observeLive(models: [TenantModel, TenantModel], live: Awaited<ReturnType<typeof openLiveStreams>>) {
  for (const [i, me] of models.entries()) {
    const other = models[1 - i]!;
    const foreign = new Set([other.tenant.id, ...other.bases.map((b) => b.id), ...other.groups, ...other.userIds, ...other.keys.map((k) => k.id)]);
    const head = (await graphql(gateway.url, `{ auditEvents(first: 1) { edges { node { sequence } } } }`, {}, me.admin)).data.auditEvents.edges[0]?.node
      .sequence;
    let previous: bigint | null = null;
    while (head !== undefined && (previous === null || previous < BigInt(head))) {
      const message = await live[i]!.events.next();
      expect(message.errors).toBeUndefined();
      const event = message.data.auditEvents;
      if (previous !== null) expect(BigInt(event.sequence)).toBe(previous + 1n);
      previous = BigInt(event.sequence);
      for (const id of [event.baseId, event.groupId, event.actorId]) expect(id && foreign.has(id), `live event naming the other tenant: ${id}`).toBeFalsy();
    }
    const target = other.bases[0]?.id;
    if (target) {
      const attempt = await subscribe(live[i]!.connection.client, `subscription ($id: ID!) { baseChanged(baseId: $id) { change } }`, { id: target }).next();
      expect(attempt.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    }
  }
  for (const stream of live) stream.connection.dispose();
}

const stats = new Map<string, number>();

it("two tenants never see, count, run or change each other's data", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(commandArb, { minLength: 8, maxLength: 30 }), async (commands) => {
      const models: [TenantModel, TenantModel] = [await newTenantModel(), await newTenantModel()];
      const live = await openLiveStreams(models);
      for (const [n, command] of commands.entries()) {
        await apply(command, models);
        stats.set(
          command.op === "attack" ? `attack:${command.attack}` : command.op,
          (stats.get(command.op === "attack" ? `attack:${command.attack}` : command.op) ?? 0) + 1,
        );
        if (n % 6 === 5) await observe(models);
      }
      await observe(models);
      await observeLive(models, live);
    }),
    { numRuns: 12, endOnFailure: true },
  );
  const attacks = [...stats].filter(([k]) => k.startsWith("attack:")).reduce((n, [, v]) => n + v, 0);
  console.info(
    `tenant isolation: ${[...stats.values()].reduce((a, b) => a + b, 0)} commands, ${attacks} cross-tenant attempts over ${[...stats.keys()].filter((k) => k.startsWith("attack:")).length} kinds`,
  );
  expect(attacks).toBeGreaterThan(20);
}, 180_000);

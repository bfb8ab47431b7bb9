/**
 * Change requests (src/modules/approvals/README.md, issue #17 points 2–5) for PUBLISH, end to end through the HTTP server on real
 * Postgres: a governed publish answers with a pending request, approvers decide, the approved change is
 * applied once, stale and expired requests are never applied, and racing decisions have one outcome.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post } from "../support/rest.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { subscribe, subscriptionClient } from "../support/subscriptions.js";
import { errorCodes, type GraphQLResponse, graphql, startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.stop());

const POLICY = "A **Person** gets approved if __age__ of **Person** is greater than 18.";
const CR_FIELDS = `id action state requesterType requesterId baseId payload expiresAt closedAt comment resultId
  requirements { approvalPolicyId name requiredApprovals approvals } decisions { approverId decision comment }`;
const PUBLISH = `mutation($input: PublishDraftInput!) { publishDraftWithApproval(input: $input) {
  __typename ... on Version { id versionNumber description } ... on ChangeRequest { ${CR_FIELDS} } } }`;
const OLD_PUBLISH = `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id versionNumber } }`;
const APPROVE = `mutation($id: ID!, $comment: String) { approveChangeRequest(id: $id, comment: $comment) { ${CR_FIELDS} } }`;
const REJECT = `mutation($id: ID!, $comment: String!) { rejectChangeRequest(id: $id, comment: $comment) { ${CR_FIELDS} } }`;
const WITHDRAW = `mutation($id: ID!) { withdrawChangeRequest(id: $id) { ${CR_FIELDS} } }`;
const GET = `query($id: ID!) { changeRequest(id: $id) { ${CR_FIELDS} } }`;
const LIST = `query($first: Int, $after: String, $filter: ChangeRequestFilter) {
  changeRequests(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { id state action } } } }`;

interface World {
  tenant: TestTenant;
  as: (who: string) => (query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse<any>>;
  policy(input: Record<string, unknown>): Promise<string>;
  draft(name?: string, owner?: string): Promise<{ baseId: string; draftId: string }>;
  request(draftId: string, who?: string): Promise<Record<string, any>>;
}

/** A fresh tenant (so policies of one test govern nothing in another) with one user per name. */
async function world(users: Record<string, ("ADMIN" | "PUBLISHER" | "EDITOR" | "VIEWER" | "AUDITOR")[]> = {}): Promise<World> {
  const tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], pat: ["PUBLISHER"], pia: ["PUBLISHER"], vic: ["VIEWER"], ...users });
  const tokens = new Map<string, string>();
  for (const [name, user] of Object.entries(tenant.users)) tokens.set(name, await gateway.tokenFor(user.subject));
  const as =
    (who: string) =>
    (query: string, variables: Record<string, unknown> = {}) =>
      graphql(gateway.url, query, variables, { authorization: `Bearer ${tokens.get(who)}` });
  return {
    tenant,
    as,
    async policy(input) {
      const r = await as("ada")(`mutation($i: CreateApprovalPolicyInput!) { createApprovalPolicy(input: $i) { id } }`, {
        i: { name: `p-${randomUUID()}`, action: "PUBLISH", approverRoles: ["PUBLISHER"], ...input },
      });
      expect(r.errors).toBeUndefined();
      return r.data.createApprovalPolicy.id;
    },
    async draft(name = `policy-${randomUUID()}`, owner = "pat") {
      const r = await as(owner)(`mutation($i: CreateResourceInput!) { createPolicy(input: $i) { id base { id } } }`, { i: { name, content: POLICY } });
      expect(r.errors).toBeUndefined();
      return { baseId: r.data.createPolicy.base.id, draftId: r.data.createPolicy.id };
    },
    async request(draftId, who = "pat") {
      const r = await as(who)(PUBLISH, { input: { draftId, description: "second pair of eyes" } });
      expect(r.errors).toBeUndefined();
      expect(r.data.publishDraftWithApproval.__typename).toBe("ChangeRequest");
      return r.data.publishDraftWithApproval;
    },
  };
}

const versionsOf = (baseId: string) => gateway.database.prisma.version.findMany({ where: { baseId }, orderBy: { number: "asc" } });
const requestEvents = (id: string) =>
  gateway.database.prisma.auditEvent.findMany({
    where: { resourceKind: "CHANGE_REQUEST", detail: { path: ["changeRequestId"], equals: id } },
    orderBy: { sequence: "asc" },
  });

describe("governed publish", () => {
  it("a tenant without policies publishes through publishDraftWithApproval exactly as through publishDraft", async () => {
    const w = await world();
    const { draftId, baseId } = await w.draft();
    const r = await w.as("pat")(PUBLISH, { input: { draftId, description: "v1" } });
    expect(r.errors).toBeUndefined();
    expect(r.data.publishDraftWithApproval).toMatchObject({ __typename: "Version", versionNumber: 1, description: "v1" });
    expect(await gateway.database.prisma.changeRequest.count({ where: { tenantId: w.tenant.id } })).toBe(0);
    expect((await versionsOf(baseId)).length).toBe(1);
  });

  it("answers with a pending request holding exactly what would be applied, publishes nothing, and records approval_requested", async () => {
    const w = await world();
    const policyId = await w.policy({ requiredApprovals: 1, expiresAfter: "P2D" });
    const { draftId, baseId } = await w.draft();
    const request = await w.request(draftId);
    expect(request).toMatchObject({
      action: "PUBLISH",
      state: "PENDING",
      requesterType: "USER",
      requesterId: w.tenant.users.pat!.id,
      baseId,
      payload: { draftId, revision: 1, description: "second pair of eyes", gate: { tests: { passed: 0, failed: 0 } } },
      requirements: [{ approvalPolicyId: policyId, requiredApprovals: 1, approvals: 0 }],
      decisions: [],
      closedAt: null,
    });
    const expires = new Date(request.expiresAt).getTime() - Date.now();
    expect(expires).toBeGreaterThan(47 * 3600 * 1000);
    expect(expires).toBeLessThanOrEqual(48 * 3600 * 1000);
    expect(await versionsOf(baseId)).toEqual([]);
    expect(await gateway.database.prisma.draft.count({ where: { id: draftId } })).toBe(1);
    const [event] = await requestEvents(request.id);
    expect(event).toMatchObject({ action: "APPROVAL_REQUESTED", actorId: w.tenant.users.pat!.id, baseId });
    expect(event!.detail).toMatchObject({ state: "PENDING", changeAction: "PUBLISH", approvalPolicyIds: [policyId] });
  });

  it("publishDraft keeps its Version type: a governed publish through it is CONFLICT naming the policies, and writes nothing", async () => {
    const w = await world();
    const policyId = await w.policy({});
    const { draftId, baseId } = await w.draft();
    const r = await w.as("pat")(OLD_PUBLISH, { input: { draftId, description: "v1" } });
    expect(errorCodes(r)).toEqual(["CONFLICT"]);
    expect(r.errors![0]!.extensions!.details).toEqual({ approvalRequired: true, approvalPolicyIds: [policyId] });
    expect(await gateway.database.prisma.changeRequest.count({ where: { tenantId: w.tenant.id } })).toBe(0);
    expect(await versionsOf(baseId)).toEqual([]);
  });

  it("skips policies whose bypass roles the actor holds, disabled and archived ones, and those whose conditions are false", async () => {
    const w = await world();
    await w.policy({ bypassRoles: ["ADMIN"] });
    await w.policy({ enabled: false, approverRoles: ["ADMIN"] });
    const archived = await w.policy({ approverRoles: ["ADMIN"] });
    await w.as("ada")(`mutation($id: ID!) { archiveApprovalPolicy(id: $id) { id } }`, { id: archived });
    const payments = await w.policy({
      conditions: `A **Change** needs approval if __base name__ of **Change** contains "payment" and __size__ of **Change** is greater than 0.`,
    });
    // An admin bypasses the first policy; "holiday" matches no condition: published at once.
    const plain = await w.draft("holiday rules");
    const byAdmin = await w.as("ada")(PUBLISH, { input: { draftId: plain.draftId, description: "v1" } });
    expect(byAdmin.data.publishDraftWithApproval.__typename).toBe("Version");
    // A publisher on a payment policy is governed by the unconditional policy and the payments one.
    const payment = await w.draft("payment limits");
    const request = await w.request(payment.draftId);
    expect(request.requirements.map((r: { approvalPolicyId: string }) => r.approvalPolicyId)).toContain(payments);
    expect(request.requirements).toHaveLength(2);
  });
});

describe("deciding", () => {
  it("applies on the last required approval, as the approver's act attributed to requester and approvers", async () => {
    const w = await world({ ann: ["EDITOR"] });
    await w.policy({ requiredApprovals: 2, approverRoles: ["ADMIN"], approverUserIds: [] });
    await w.policy({ requiredApprovals: 1, approverRoles: [], approverUserIds: [w.tenant.users.ann!.id] });
    const { draftId, baseId } = await w.draft();
    const request = await w.request(draftId);
    // The requester may not approve their own request (allowSelfApprove is false); a viewer is no approver.
    expect(errorCodes(await w.as("pat")(APPROVE, { id: request.id }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await w.as("vic")(APPROVE, { id: request.id }))).toEqual(["FORBIDDEN"]);

    const first = await w.as("ada")(APPROVE, { id: request.id, comment: "fine by me" });
    expect(first.errors).toBeUndefined();
    expect(first.data.approveChangeRequest.state).toBe("PENDING");
    expect(errorCodes(await w.as("ada")(APPROVE, { id: request.id }))).toEqual(["CONFLICT"]); // once per approver
    const second = await w.as("ann")(APPROVE, { id: request.id });
    expect(second.data.approveChangeRequest.state).toBe("PENDING"); // ann satisfies her policy; ADMIN needs one more
    expect(second.data.approveChangeRequest.requirements.map((r: { approvals: number }) => r.approvals)).toEqual([1, 1]);
    const admin2 = await createTenantUser(w.tenant, ["ADMIN"]);
    const last = await graphql(gateway.url, APPROVE, { id: request.id }, { authorization: `Bearer ${await gateway.tokenFor(admin2.subject)}` });
    expect(last.errors).toBeUndefined();
    const applied = last.data.approveChangeRequest;
    expect(applied).toMatchObject({ state: "APPLIED" });
    expect(applied.closedAt).not.toBeNull();

    const versions = await versionsOf(baseId);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ id: applied.resultId, description: "second pair of eyes", createdById: w.tenant.users.pat!.id });
    expect(await gateway.database.prisma.draft.count({ where: { id: draftId } })).toBe(0);
    const published = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { baseId, action: "PUBLISHED" } });
    expect(published.actorId).toBe(admin2.id);
    expect(published.detail).toMatchObject({
      fromDraft: draftId,
      changeRequestId: request.id,
      requestedBy: { type: "USER", id: w.tenant.users.pat!.id },
      approvedBy: [w.tenant.users.ada!.id, w.tenant.users.ann!.id, admin2.id],
    });
    expect((await requestEvents(request.id)).map((e) => e.action)).toEqual(["APPROVAL_REQUESTED", "APPROVED", "APPROVED", "APPROVED", "APPLIED"]);
    // Closed requests take no more decisions.
    expect(errorCodes(await w.as("pia")(APPROVE, { id: request.id }))).toEqual(["CONFLICT"]);
    const verified = await w.as("ada")(`{ verifyAuditChain { valid reason } }`);
    expect(verified.data.verifyAuditChain).toEqual({ valid: true, reason: null });
  });

  it("counts the requester's own approval only where the policy allows self-approval", async () => {
    const w = await world();
    await w.policy({ allowSelfApprove: true });
    const { draftId } = await w.draft();
    const request = await w.request(draftId);
    const r = await w.as("pat")(APPROVE, { id: request.id });
    expect(r.data.approveChangeRequest.state).toBe("APPLIED");
  });

  it("rejects with a required comment and closes the request; withdraws only for the requester", async () => {
    const w = await world();
    await w.policy({});
    const one = await w.draft();
    const request = await w.request(one.draftId);
    const noReason = await w.as("pia")(REJECT, { id: request.id, comment: "  " });
    expect(errorCodes(noReason)).toEqual(["BAD_USER_INPUT"]);
    expect(noReason.errors![0]!.extensions!.details).toEqual({ field: "comment" });
    expect(errorCodes(await w.as("vic")(REJECT, { id: request.id, comment: "no" }))).toEqual(["FORBIDDEN"]);
    const rejected = await w.as("pia")(REJECT, { id: request.id, comment: "the threshold is wrong" });
    expect(rejected.data.rejectChangeRequest).toMatchObject({
      state: "REJECTED",
      comment: "the threshold is wrong",
      decisions: [{ approverId: w.tenant.users.pia!.id, decision: "REJECT", comment: "the threshold is wrong" }],
    });
    expect(errorCodes(await w.as("ada")(APPROVE, { id: request.id }))).toEqual(["CONFLICT"]);
    expect(errorCodes(await w.as("pat")(WITHDRAW, { id: request.id }))).toEqual(["CONFLICT"]);

    const two = await w.draft();
    const second = await w.request(two.draftId);
    expect(errorCodes(await w.as("pia")(WITHDRAW, { id: second.id }))).toEqual(["FORBIDDEN"]);
    const withdrawn = await w.as("pat")(WITHDRAW, { id: second.id });
    expect(withdrawn.data.withdrawChangeRequest.state).toBe("WITHDRAWN");
    expect(errorCodes(await w.as("pia")(APPROVE, { id: second.id }))).toEqual(["CONFLICT"]);
    expect(await versionsOf(two.baseId)).toEqual([]);
    expect((await requestEvents(request.id)).map((e) => e.action)).toEqual(["APPROVAL_REQUESTED", "REJECTED"]);
    expect((await requestEvents(second.id)).map((e) => e.action)).toEqual(["APPROVAL_REQUESTED", "WITHDRAWN"]);
  });

  it("an API key may request and withdraw its own request, but does not approve", async () => {
    const w = await world();
    await w.policy({});
    const { draftId, baseId } = await w.draft();
    const key = await createApiKey(gateway.database.prisma, w.tenant.id, ["PUBLISH"]);
    const byKey = (query: string, variables: Record<string, unknown>) => graphql(gateway.url, query, variables, { "x-api-key": key.key });
    // The key (issued by nobody) may publish an organisation's base only once published; give it the draft's base.
    await gateway.database.prisma.base.update({ where: { id: baseId }, data: { ownership: "ORGANISATION_OWNED" } });
    const requested = await byKey(PUBLISH, { input: { draftId, description: "by key" } });
    expect(requested.errors).toBeUndefined();
    const request = requested.data.publishDraftWithApproval;
    expect(request).toMatchObject({ requesterType: "API_KEY", requesterId: key.id });
    expect(errorCodes(await byKey(APPROVE, { id: request.id }))).toEqual(["FORBIDDEN"]);
    expect((await byKey(WITHDRAW, { id: request.id })).data.withdrawChangeRequest.state).toBe("WITHDRAWN");
  });

  it("marks a request stale and applies nothing when the draft moved to a new revision or the base was deleted (CONFLICT)", async () => {
    const w = await world();
    await w.policy({});
    const moved = await w.draft();
    const request = await w.request(moved.draftId);
    const edited = await w.as("pat")(`mutation($id: ID!) { updateDraft(input: { draftId: $id, expectedRevision: 1, description: "sneaky" }) { revision } }`, {
      id: moved.draftId,
    });
    expect(edited.data.updateDraft.revision).toBe(2);
    const approve = await w.as("pia")(APPROVE, { id: request.id });
    expect(errorCodes(approve)).toEqual(["CONFLICT"]);
    expect(approve.errors![0]!.message).toMatch(/stale.*revision 1 to 2/);
    const after = await w.as("vic")(GET, { id: request.id });
    expect(after.data.changeRequest).toMatchObject({ state: "STALE", resultId: null });
    expect(await versionsOf(moved.baseId)).toEqual([]);
    expect((await requestEvents(request.id)).map((e) => e.action)).toEqual(["APPROVAL_REQUESTED", "APPROVED", "STALE"]);

    const deleted = await w.draft();
    const second = await w.request(deleted.draftId);
    expect((await w.as("ada")(`mutation($id: ID!) { deleteBase(id: $id) { id } }`, { id: deleted.baseId })).errors).toBeUndefined();
    expect(errorCodes(await w.as("pia")(APPROVE, { id: second.id }))).toEqual(["CONFLICT"]);
    expect((await w.as("vic")(GET, { id: second.id })).data.changeRequest.state).toBe("STALE");
  });

  it("an expired request reads EXPIRED at once and can never be approved; touching it closes it with an expired event", async () => {
    const w = await world();
    await w.policy({ expiresAfter: "PT1M" });
    const { draftId, baseId } = await w.draft();
    const request = await w.request(draftId);
    // Time passes: the expiry moves into the past, with nothing running in the background.
    await gateway.database.prisma.changeRequest.update({ where: { id: request.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await w.as("vic")(GET, { id: request.id })).data.changeRequest).toMatchObject({ state: "EXPIRED", closedAt: null });
    const pending = await w.as("vic")(LIST, { filter: { state: "PENDING" } });
    expect(pending.data.changeRequests.totalCount).toBe(0);
    const expired = await w.as("vic")(LIST, { filter: { state: "EXPIRED" } });
    expect(expired.data.changeRequests.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([request.id]);

    const approve = await w.as("pia")(APPROVE, { id: request.id });
    expect(errorCodes(approve)).toEqual(["CONFLICT"]);
    expect(approve.errors![0]!.message).toMatch(/expired/);
    expect(errorCodes(await w.as("ada")(APPROVE, { id: request.id }))).toEqual(["CONFLICT"]);
    expect(await versionsOf(baseId)).toEqual([]);
    const stored = await gateway.database.prisma.changeRequest.findUniqueOrThrow({ where: { id: request.id }, include: { decisions: true } });
    expect(stored).toMatchObject({ state: "EXPIRED", decisions: [] });
    expect((await requestEvents(request.id)).map((e) => e.action)).toEqual(["APPROVAL_REQUESTED", "EXPIRED"]);
  });
});

describe("races on Postgres", () => {
  it("two approvers approving at once apply the change exactly once", async () => {
    const w = await world({ ann: ["PUBLISHER"] });
    await w.policy({ requiredApprovals: 1 });
    for (let round = 0; round < 5; round++) {
      const { draftId, baseId } = await w.draft();
      const request = await w.request(draftId);
      const results = await Promise.all([w.as("pia")(APPROVE, { id: request.id }), w.as("ann")(APPROVE, { id: request.id })]);
      const ok = results.filter((r) => !r.errors);
      expect(ok).toHaveLength(1);
      expect(ok[0]!.data.approveChangeRequest.state).toBe("APPLIED");
      expect(results.flatMap(errorCodes)).toEqual(["CONFLICT"]);
      expect(await versionsOf(baseId)).toHaveLength(1);
      expect((await requestEvents(request.id)).filter((e) => e.action === "APPLIED")).toHaveLength(1);
    }
  });

  it("the last two of two required approvals arriving together apply once", async () => {
    const w = await world({ ann: ["PUBLISHER"] });
    await w.policy({ requiredApprovals: 2 });
    for (let round = 0; round < 5; round++) {
      const { draftId, baseId } = await w.draft();
      const request = await w.request(draftId);
      const results = await Promise.all([w.as("pia")(APPROVE, { id: request.id }), w.as("ann")(APPROVE, { id: request.id })]);
      expect(results.flatMap(errorCodes)).toEqual([]);
      expect(results.map((r) => r.data.approveChangeRequest.state).sort()).toEqual(["APPLIED", "PENDING"]);
      expect(await versionsOf(baseId)).toHaveLength(1);
    }
  });

  it("approving while the requester withdraws gives one consistent outcome", async () => {
    const w = await world();
    await w.policy({ requiredApprovals: 1 });
    for (let round = 0; round < 6; round++) {
      const { draftId, baseId } = await w.draft();
      const request = await w.request(draftId);
      const [approved, withdrawn] = await Promise.all([w.as("pia")(APPROVE, { id: request.id }), w.as("pat")(WITHDRAW, { id: request.id })]);
      expect([approved, withdrawn].filter((r) => !r.errors)).toHaveLength(1);
      const final = (await w.as("vic")(GET, { id: request.id })).data.changeRequest;
      const versions = await versionsOf(baseId);
      if (final.state === "APPLIED") {
        expect(approved.errors).toBeUndefined();
        expect(errorCodes(withdrawn)).toEqual(["CONFLICT"]);
        expect(versions).toHaveLength(1);
      } else {
        expect(final.state).toBe("WITHDRAWN");
        expect(errorCodes(approved)).toEqual(["CONFLICT"]);
        expect(versions).toHaveLength(0);
      }
    }
  });
});

describe("visibility", () => {
  it("lists with filters on state, action, base and requester, newest first, by cursor", async () => {
    const w = await world();
    await w.policy({});
    const made: { id: string; baseId: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const who = i === 2 ? "pia" : "pat";
      const { draftId } = await w.draft(undefined, who);
      made.push((await w.request(draftId, who)) as { id: string; baseId: string });
    }
    await w.as("pat")(WITHDRAW, { id: made[0]!.id });
    const first = await w.as("vic")(LIST, { first: 2 });
    expect(first.data.changeRequests).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const second = await w.as("vic")(LIST, { first: 2, after: first.data.changeRequests.pageInfo.endCursor });
    const ids = [...first.data.changeRequests.edges, ...second.data.changeRequests.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(ids).toEqual(made.map((m) => m.id).reverse());
    const ofState = async (filter: Record<string, unknown>) =>
      (await w.as("vic")(LIST, { filter })).data.changeRequests.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(await ofState({ state: "WITHDRAWN" })).toEqual([made[0]!.id]);
    expect(await ofState({ state: "PENDING", action: "PUBLISH" })).toEqual([made[2]!.id, made[1]!.id]);
    expect(await ofState({ action: "DELETE" })).toEqual([]);
    expect(await ofState({ baseId: made[1]!.baseId })).toEqual([made[1]!.id]);
    expect(await ofState({ requester: w.tenant.users.pia!.id })).toEqual([made[2]!.id]);
    expect(await ofState({ requester: "not-an-id" })).toEqual([]);
    expect(errorCodes(await w.as("vic")(LIST, { after: "garbage" }))).toEqual(["BAD_USER_INPUT"]);
  });

  it("keeps tenants apart: another tenant's request is NOT_FOUND for reading and deciding, and never listed", async () => {
    const w = await world();
    const other = await world();
    await w.policy({});
    const { draftId } = await w.draft();
    const request = await w.request(draftId);
    for (const query of [GET, APPROVE, WITHDRAW]) expect(errorCodes(await other.as("ada")(query, { id: request.id }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await other.as("ada")(REJECT, { id: request.id, comment: "x" }))).toEqual(["NOT_FOUND"]);
    expect((await other.as("ada")(LIST, {})).data.changeRequests.totalCount).toBe(0);
    expect((await w.as("vic")(GET, { id: request.id })).data.changeRequest.state).toBe("PENDING");
  });

  it("never gates REST runs: a base with a pending publish runs its current version", async () => {
    const w = await world();
    const { draftId, baseId } = await w.draft();
    expect((await w.as("pat")(OLD_PUBLISH, { input: { draftId, description: "v1" } })).errors).toBeUndefined();
    await w.policy({});
    const next = await w.as("pat")(`mutation($id: ID!) { createDraftFromVersion(versionId: $id) { id } }`, {
      id: (await versionsOf(baseId))[0]!.id,
    });
    await w.request(next.data.createDraftFromVersion.id);
    const key = await createApiKey(gateway.database.prisma, w.tenant.id, ["VIEW"]);
    const run = await post(gateway.url, `/run/policy/${baseId}`, { data: { Person: { age: 30 } } }, { key: key.key });
    expect(run.status).toBe(200);
    expect(run.body.result).toBe(true);
  });
});

describe("DELETE and RESTORE through the same hook", () => {
  const DELETE = `mutation($id: ID!) { deleteBaseWithApproval(id: $id) { __typename ... on Base { id } ... on ChangeRequest { ${CR_FIELDS} } } }`;
  const RESTORE = `mutation($id: ID!) { restoreBaseWithApproval(id: $id) { __typename ... on Base { id } ... on ChangeRequest { ${CR_FIELDS} } } }`;
  const baseRow = (id: string) => gateway.database.prisma.base.findUniqueOrThrow({ where: { id } });

  it("a governed delete and restore wait for approval, then apply attributed to requester and approver", async () => {
    const w = await world({ ali: ["ADMIN"] });
    await w.policy({ action: "DELETE", approverRoles: ["ADMIN"] });
    await w.policy({ action: "RESTORE", approverRoles: ["ADMIN"] });
    const { baseId } = await w.draft();
    const refused = await w.as("ada")(`mutation($id: ID!) { deleteBase(id: $id) { id } }`, { id: baseId });
    expect(errorCodes(refused)).toEqual(["CONFLICT"]);
    expect(refused.errors![0]!.extensions!.details).toMatchObject({ approvalRequired: true });

    const requested = (await w.as("ada")(DELETE, { id: baseId })).data.deleteBaseWithApproval;
    expect(requested).toMatchObject({ __typename: "ChangeRequest", action: "DELETE", state: "PENDING", baseId, payload: { baseId, force: false } });
    expect((await baseRow(baseId)).deletedAt).toBeNull();
    expect(errorCodes(await w.as("ada")(APPROVE, { id: requested.id }))).toEqual(["FORBIDDEN"]); // no self-approval
    const applied = await w.as("ali")(APPROVE, { id: requested.id });
    expect(applied.data.approveChangeRequest).toMatchObject({ state: "APPLIED", resultId: baseId });
    expect((await baseRow(baseId)).deletedAt).not.toBeNull();
    const deleted = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { baseId, action: "DELETED" } });
    expect(deleted.actorId).toBe(w.tenant.users.ali!.id);
    expect(deleted.detail).toMatchObject({ changeRequestId: requested.id, requestedBy: { id: w.tenant.users.ada!.id }, approvedBy: [w.tenant.users.ali!.id] });

    const restore = (await w.as("ali")(RESTORE, { id: baseId })).data.restoreBaseWithApproval;
    expect(restore).toMatchObject({ __typename: "ChangeRequest", action: "RESTORE", state: "PENDING" });
    expect((await w.as("ada")(APPROVE, { id: restore.id })).data.approveChangeRequest.state).toBe("APPLIED");
    expect((await baseRow(baseId)).deletedAt).toBeNull();
  });

  it("an approved delete of a base deleted meanwhile is stale; a tenant without DELETE policies deletes at once", async () => {
    const w = await world({ ali: ["ADMIN"] });
    const { baseId: direct } = await w.draft();
    expect((await w.as("ada")(DELETE, { id: direct })).data.deleteBaseWithApproval).toEqual({ __typename: "Base", id: direct });
    await w.policy({ action: "DELETE", approverRoles: ["ADMIN"] });
    const { baseId } = await w.draft();
    const requested = (await w.as("ada")(DELETE, { id: baseId })).data.deleteBaseWithApproval;
    await gateway.database.prisma.base.update({ where: { id: baseId }, data: { deletedAt: new Date() } });
    const approve = await w.as("ali")(APPROVE, { id: requested.id });
    expect(errorCodes(approve)).toEqual(["CONFLICT"]);
    expect((await w.as("vic")(GET, { id: requested.id })).data.changeRequest.state).toBe("STALE");
  });
});

describe("TRANSFER_OWNERSHIP through the same hook", () => {
  const TRANSFER = `mutation($id: ID!, $to: ID!) { transferOwnershipWithApproval(baseId: $id, toUserId: $to) {
    __typename ... on Base { id } ... on ChangeRequest { ${CR_FIELDS} } } }`;
  const ownerOf = async (id: string) => (await gateway.database.prisma.base.findUniqueOrThrow({ where: { id } })).ownerId;

  it("a governed transfer waits for approval and applies once approved; a transfer whose owner changed since is stale", async () => {
    const w = await world({ ali: ["ADMIN"] });
    await w.policy({ action: "TRANSFER_OWNERSHIP", approverRoles: ["ADMIN"] });
    const { baseId } = await w.draft();
    const to = w.tenant.users.pia!.id;
    const plain = await w.as("ada")(`mutation($id: ID!, $to: ID!) { transferOwnership(baseId: $id, toUserId: $to) { id } }`, { id: baseId, to });
    expect(errorCodes(plain)).toEqual(["CONFLICT"]);
    expect(plain.errors![0]!.extensions!.details).toMatchObject({ approvalRequired: true });
    const request = (await w.as("ada")(TRANSFER, { id: baseId, to })).data.transferOwnershipWithApproval;
    expect(request).toMatchObject({
      __typename: "ChangeRequest",
      action: "TRANSFER_OWNERSHIP",
      payload: { baseId, fromUserId: w.tenant.users.pat!.id, toUserId: to },
    });
    expect(await ownerOf(baseId)).toBe(w.tenant.users.pat!.id);
    expect((await w.as("ali")(APPROVE, { id: request.id })).data.approveChangeRequest.state).toBe("APPLIED");
    expect(await ownerOf(baseId)).toBe(to);
    const assigned = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { baseId, action: "ASSIGNED" } });
    expect(assigned.detail).toMatchObject({ toUserId: to, changeRequestId: request.id, approvedBy: [w.tenant.users.ali!.id] });

    const second = (await w.as("ada")(TRANSFER, { id: baseId, to: w.tenant.users.pat!.id })).data.transferOwnershipWithApproval;
    await gateway.database.prisma.base.update({ where: { id: baseId }, data: { ownerId: w.tenant.users.vic!.id } });
    expect(errorCodes(await w.as("ali")(APPROVE, { id: second.id }))).toEqual(["CONFLICT"]);
    expect((await w.as("vic")(GET, { id: second.id })).data.changeRequest.state).toBe("STALE");
    expect(await ownerOf(baseId)).toBe(w.tenant.users.vic!.id);
  });
});

describe("ASSIGN_ROLES through the same hook", () => {
  const ASSIGN = `mutation($u: ID!, $roles: [Role!]!) { assignRolesWithApproval(userId: $u, roles: $roles) {
    __typename ... on User { id roles } ... on ChangeRequest { ${CR_FIELDS} } } }`;
  const rolesOf = async (id: string) => (await gateway.database.prisma.user.findUniqueOrThrow({ where: { id } })).roles;

  it("a governed assignment records the user and its roles before and after, applies on approval, and is stale when the roles changed since", async () => {
    const w = await world({ ali: ["ADMIN"] });
    const policyId = await w.policy({ action: "ASSIGN_ROLES", approverRoles: ["ADMIN"] });
    const vic = w.tenant.users.vic!.id;
    const plain = await w.as("ada")(`mutation($u: ID!) { assignRoles(userId: $u, roles: [EDITOR]) { id } }`, { u: vic });
    expect(errorCodes(plain)).toEqual(["CONFLICT"]);
    expect(plain.errors![0]!.extensions!.details).toEqual({ approvalRequired: true, approvalPolicyIds: [policyId] });
    const request = (await w.as("ada")(ASSIGN, { u: vic, roles: ["EDITOR"] })).data.assignRolesWithApproval;
    expect(request).toMatchObject({
      __typename: "ChangeRequest",
      action: "ASSIGN_ROLES",
      state: "PENDING",
      baseId: null,
      payload: { userId: vic, rolesBefore: ["VIEWER"], rolesAfter: ["VIEWER", "EDITOR"] },
    });
    expect(await rolesOf(vic)).toEqual(["VIEWER"]);
    // The requester does not approve their own request (no self-approval).
    expect(errorCodes(await w.as("ada")(APPROVE, { id: request.id }))).toEqual(["FORBIDDEN"]);
    const applied = (await w.as("ali")(APPROVE, { id: request.id })).data.approveChangeRequest;
    expect(applied).toMatchObject({ state: "APPLIED", resultId: vic });
    expect(await rolesOf(vic)).toEqual(["VIEWER", "EDITOR"]);
    const assigned = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenant.id, action: "ASSIGNED", resourceKind: "USER" } });
    expect(assigned).toMatchObject({ actorId: w.tenant.users.ali!.id });
    expect(assigned.detail).toMatchObject({ userId: vic, added: ["EDITOR"], changeRequestId: request.id, approvedBy: [w.tenant.users.ali!.id] });
    expect((await requestEvents(request.id)).map((e) => e.action)).toEqual(["APPROVAL_REQUESTED", "APPROVED", "APPLIED"]);

    const second = (await w.as("ada")(ASSIGN, { u: vic, roles: ["PUBLISHER"] })).data.assignRolesWithApproval;
    await gateway.database.prisma.user.update({ where: { id: vic }, data: { roles: ["VIEWER"] } });
    expect(errorCodes(await w.as("ali")(APPROVE, { id: second.id }))).toEqual(["CONFLICT"]);
    expect((await w.as("vic")(GET, { id: second.id })).data.changeRequest.state).toBe("STALE");
    expect(await rolesOf(vic)).toEqual(["VIEWER"]);
  });

  it("conditions read the documented context: a change of no base has no base fields, and `roles added` names the roles granted", async () => {
    const w = await world({ ali: ["ADMIN"] });
    await w.policy({
      action: "ASSIGN_ROLES",
      approverRoles: ["ADMIN"],
      conditions: `A **Change** needs approval if __base name__ of **Change** is not equal to "x".`,
    });
    await w.policy({
      action: "ASSIGN_ROLES",
      approverRoles: ["ADMIN"],
      conditions: `A **Change** needs approval if __roles added__ of **Change** contains "ADMIN".`,
    });
    const vic = w.tenant.users.vic!.id;
    const editor = await w.as("ada")(ASSIGN, { u: vic, roles: ["EDITOR"] });
    expect(editor.data.assignRolesWithApproval).toMatchObject({ __typename: "User", id: vic });
    expect(await rolesOf(vic)).toEqual(["VIEWER", "EDITOR"]);
    const admin = await w.as("ada")(ASSIGN, { u: vic, roles: ["ADMIN"] });
    expect(admin.data.assignRolesWithApproval).toMatchObject({ __typename: "ChangeRequest", action: "ASSIGN_ROLES" });
    expect(await rolesOf(vic)).toEqual(["VIEWER", "EDITOR"]);
  });

  it("the approver who applies an assignment must hold the roles it grants: FORBIDDEN, and not even the approval is recorded", async () => {
    const w = await world();
    await w.policy({ action: "ASSIGN_ROLES", approverRoles: [], approverUserIds: [w.tenant.users.pia!.id] });
    const request = (await w.as("ada")(ASSIGN, { u: w.tenant.users.vic!.id, roles: ["ADMIN"] })).data.assignRolesWithApproval;
    expect(errorCodes(await w.as("pia")(APPROVE, { id: request.id }))).toEqual(["FORBIDDEN"]);
    expect((await w.as("vic")(GET, { id: request.id })).data.changeRequest).toMatchObject({ state: "PENDING", decisions: [] });
    expect(await rolesOf(w.tenant.users.vic!.id)).toEqual(["VIEWER"]);
  });

  it("two approvers approving an assignment at once apply it exactly once", async () => {
    const w = await world({ ali: ["ADMIN"], amy: ["ADMIN"] });
    await w.policy({ action: "ASSIGN_ROLES", approverRoles: ["ADMIN"] });
    const request = (await w.as("ada")(ASSIGN, { u: w.tenant.users.vic!.id, roles: ["EDITOR"] })).data.assignRolesWithApproval;
    const results = await Promise.all([w.as("ali")(APPROVE, { id: request.id }), w.as("amy")(APPROVE, { id: request.id })]);
    expect(results.flatMap(errorCodes)).toEqual(["CONFLICT"]);
    expect((await requestEvents(request.id)).filter((e) => e.action === "APPLIED")).toHaveLength(1);
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: w.tenant.id, action: "ASSIGNED", resourceKind: "USER" } })).toBe(1);
  });
});

describe("CREATE_API_KEY through the same hook", () => {
  const CREATE = `mutation($i: CreateApiKeyInput!) { createApiKeyWithApproval(input: $i) {
    __typename ... on CreatedApiKey { apiKey { id } secretShownOnce } ... on ChangeRequest { ${CR_FIELDS} } } }`;
  const CLAIM = `mutation($id: ID!) { claimApprovedApiKey(changeRequestId: $id) { apiKey { id name scopes } secretShownOnce } }`;
  const keysOf = (tenantId: string) => gateway.database.prisma.apiKey.findMany({ where: { tenantId } });

  it("an approved key is created sealed, and only its requester receives the secret, once, audited", async () => {
    const w = await world({ ali: ["ADMIN"] });
    const policyId = await w.policy({ action: "CREATE_API_KEY", approverRoles: ["ADMIN"] });
    const plain = await w.as("ada")(`mutation { createApiKey(input: { name: "k", scopes: [VIEW] }) { secretShownOnce } }`);
    expect(errorCodes(plain)).toEqual(["CONFLICT"]);
    expect(plain.errors![0]!.extensions!.details).toEqual({ approvalRequired: true, approvalPolicyIds: [policyId] });
    const request = (await w.as("ada")(CREATE, { i: { name: "ci", scopes: ["VIEW"] } })).data.createApiKeyWithApproval;
    expect(request).toMatchObject({
      __typename: "ChangeRequest",
      action: "CREATE_API_KEY",
      baseId: null,
      payload: { name: "ci", scopes: ["VIEW"], expiresAt: null },
    });
    expect(await keysOf(w.tenant.id)).toEqual([]);
    // Nothing to claim before it is applied.
    expect(errorCodes(await w.as("ada")(CLAIM, { id: request.id }))).toEqual(["CONFLICT"]);

    const approved = await w.as("ali")(APPROVE, { id: request.id });
    expect(approved.data.approveChangeRequest).toMatchObject({ state: "APPLIED" });
    expect(JSON.stringify(approved)).not.toContain("vdk_");
    const [key] = await keysOf(w.tenant.id);
    expect(key).toMatchObject({ id: approved.data.approveChangeRequest.resultId, name: "ci", scopes: ["VIEW"], createdById: w.tenant.users.ada!.id });
    const created = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenant.id, action: "KEY_CREATED" } });
    expect(created.detail).toMatchObject({ apiKeyId: key!.id, sealed: true, changeRequestId: request.id, approvedBy: [w.tenant.users.ali!.id] });

    // The approver (and anyone but the requester) never sees the secret.
    expect(errorCodes(await w.as("ali")(CLAIM, { id: request.id }))).toEqual(["FORBIDDEN"]);
    const claimed = await w.as("ada")(CLAIM, { id: request.id });
    expect(claimed.errors).toBeUndefined();
    expect(claimed.data.claimApprovedApiKey.apiKey).toEqual({ id: key!.id, name: "ci", scopes: ["VIEW"] });
    const secret: string = claimed.data.claimApprovedApiKey.secretShownOnce;
    const byKey = await graphql(gateway.url, `{ changeRequests(first: 1) { totalCount } }`, {}, { "x-api-key": secret });
    expect(byKey.errors).toBeUndefined();
    expect(errorCodes(await w.as("ada")(CLAIM, { id: request.id }))).toEqual(["CONFLICT"]);
    const claim = await gateway.database.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenant.id, action: "EDITED", resourceKind: "API_KEY" } });
    expect(claim).toMatchObject({ actorId: w.tenant.users.ada!.id });
    expect(claim.detail).toMatchObject({ apiKeyId: key!.id, secretClaimed: true, changeRequestId: request.id });
    expect(JSON.stringify(claim.detail)).not.toContain(secret);
  });

  it("a key whose requester no longer holds its scopes is stale; a tenant without key policies creates keys at once", async () => {
    const w = await world({ ali: ["ADMIN"], amy: ["ADMIN"] });
    const direct = await w.as("ada")(CREATE, { i: { name: "now", scopes: ["VIEW"] } });
    expect(direct.data.createApiKeyWithApproval).toMatchObject({ __typename: "CreatedApiKey" });
    expect(direct.data.createApiKeyWithApproval.secretShownOnce).toMatch(/^vdk_/);
    await w.policy({ action: "CREATE_API_KEY", approverRoles: ["ADMIN"] });
    const request = (await w.as("amy")(CREATE, { i: { name: "late", scopes: ["ADMIN"] } })).data.createApiKeyWithApproval;
    await gateway.database.prisma.user.update({ where: { id: w.tenant.users.amy!.id }, data: { roles: ["VIEWER"] } });
    expect(errorCodes(await w.as("ali")(APPROVE, { id: request.id }))).toEqual(["CONFLICT"]);
    expect((await w.as("vic")(GET, { id: request.id })).data.changeRequest.state).toBe("STALE");
    expect(await keysOf(w.tenant.id)).toHaveLength(1);
  });

  it("two approvers approving a key at once create it exactly once", async () => {
    const w = await world({ ali: ["ADMIN"], amy: ["ADMIN"] });
    await w.policy({ action: "CREATE_API_KEY", approverRoles: ["ADMIN"] });
    const request = (await w.as("ada")(CREATE, { i: { name: "once", scopes: ["VIEW"] } })).data.createApiKeyWithApproval;
    const results = await Promise.all([w.as("ali")(APPROVE, { id: request.id }), w.as("amy")(APPROVE, { id: request.id })]);
    expect(results.flatMap(errorCodes)).toEqual(["CONFLICT"]);
    expect(await keysOf(w.tenant.id)).toHaveLength(1);
  });
});

describe("changeRequestChanged subscription (graphql-ws, issue #20 point 3)", () => {
  it("streams a tenant's request state changes made through another gateway process, and nothing of other tenants", async () => {
    const reader = await startTestGateway({}, gateway.db); // a second process on the same database
    const w = await world();
    const other = await world();
    await w.policy({});
    await other.policy({});
    const { draftId, baseId } = await w.draft();
    const connection = subscriptionClient(reader.url, { Authorization: `Bearer ${await gateway.tokenFor(w.tenant.users.vic!.subject)}` });
    try {
      const all = subscribe(connection.client, `subscription { changeRequestChanged { changeRequestId action state change baseId actorId } }`);
      const ofBase = subscribe(connection.client, `subscription ($id: ID) { changeRequestChanged(baseId: $id) { state change } }`, { id: baseId });
      while (reader.services.live.subscriberCount() < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      await other.request((await other.draft()).draftId); // another tenant's request: never delivered
      const unrelated = await w.draft();
      const request = await w.request(draftId);
      await w.as("pia")(APPROVE, { id: request.id });
      await w.request(unrelated.draftId);
      const seen = [await all.next(), await all.next(), await all.next(), await all.next()].map((m) => m.data.changeRequestChanged);
      expect(seen.slice(0, 3)).toEqual([
        { changeRequestId: request.id, action: "PUBLISH", state: "PENDING", change: "APPROVAL_REQUESTED", baseId, actorId: w.tenant.users.pat!.id },
        { changeRequestId: request.id, action: "PUBLISH", state: "PENDING", change: "APPROVED", baseId, actorId: w.tenant.users.pia!.id },
        { changeRequestId: request.id, action: "PUBLISH", state: "APPLIED", change: "APPLIED", baseId, actorId: w.tenant.users.pia!.id },
      ]);
      expect(seen[3]).toMatchObject({ change: "APPROVAL_REQUESTED", baseId: unrelated.baseId });
      const mine = [await ofBase.next(), await ofBase.next(), await ofBase.next()].map((m) => m.data.changeRequestChanged);
      expect(mine.map((c) => c.change)).toEqual(["APPROVAL_REQUESTED", "APPROVED", "APPLIED"]);
      // Another tenant's base is NOT_FOUND, like every other subscription.
      const foreign = await subscribe(connection.client, `subscription ($id: ID) { changeRequestChanged(baseId: $id) { state } }`, {
        id: (await other.draft()).baseId,
      }).next();
      expect(foreign.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    } finally {
      connection.dispose();
      await reader.stop();
    }
  });
});

async function createTenantUser(tenant: TestTenant, roles: ("ADMIN" | "PUBLISHER")[]): Promise<{ id: string; subject: string }> {
  const subject = `${tenant.slug}|extra-${randomUUID()}`;
  const user = await gateway.database.prisma.user.create({ data: { tenantId: tenant.id, subject, email: `${randomUUID()}@x.test`, name: "extra", roles } });
  return { id: user.id, subject };
}

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let as: GraphQLClient["as"];

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, {
    admin: ["ADMIN"],
    publisher: ["PUBLISHER"],
    editor: ["EDITOR"],
    editor2: ["EDITOR"],
    viewer: ["VIEWER"],
  });
  other = await createTenant(gateway.database.prisma, { stranger: ["ADMIN"] });
  as = graphqlClient(gateway, tenant, other).as;
});
afterAll(() => gateway?.stop());

async function createPolicy(who = "publisher", content = op.AGE_POLICY, extra: Record<string, unknown> = {}) {
  const response = await as(who)(op.CREATE_POLICY, { input: { name: `policy ${Math.random()}`, content, ...extra } });
  expect(response.errors).toBeUndefined();
  return response.data.createPolicy as { id: string; revision: number; base: { id: string } };
}

async function publish(draftId: string, who = "publisher", description = "first") {
  const response = await as(who)(op.PUBLISH, { input: { draftId, description } });
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data.publishDraft as { id: string; versionNumber: number };
}

describe("create and edit drafts", () => {
  it("creates a user-owned policy base with a draft at revision 1, recording who and when", async () => {
    const response = await as("editor")(op.CREATE_POLICY, {
      input: {
        name: "  Age check  ",
        content: op.AGE_POLICY,
        description: "adults",
        inputSchema: { type: "object" },
        tests: [{ name: "adult", data: { Person: { age: 30 } }, expected: true }],
      },
    });
    expect(response.errors).toBeUndefined();
    const draft = response.data.createPolicy;
    expect(draft).toMatchObject({
      status: "DRAFT",
      versionNumber: null,
      revision: 1,
      content: op.AGE_POLICY,
      description: "adults",
      inputSchema: { type: "object" },
      tests: [{ name: "adult", data: { Person: { age: 30 } }, expected: true }],
      base: { kind: "POLICY", name: "Age check", ownership: "USER_OWNED" },
    });
    expect(new Date(draft.createdAt).toISOString()).toBe(draft.createdAt);
    const base = (await as("editor")(op.BASE, { id: draft.base.id })).data.base;
    expect(base).toMatchObject({
      owner: { id: tenant.users.editor!.id },
      createdBy: { id: tenant.users.editor!.id },
      draft: { id: draft.id },
      versions: [],
      latestVersion: null,
    });
  });

  it("saves an unparsable policy draft (work in progress) but refuses to publish it, naming the parse error", async () => {
    const draft = await createPolicy("editor", "A **user** passes if.");
    const response = await as("admin")(op.PUBLISH, { input: { draftId: draft.id, description: "broken" } });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(response.errors?.[0]?.message).toContain("Parse error: --> 1:");
    expect((await as("editor")(op.RECORDS, { baseId: draft.base.id })).data.records).toHaveLength(1);
  });

  it("updates a draft at the expected revision and refuses a stale one with CONFLICT", async () => {
    const draft = await createPolicy("editor");
    const first = await as("editor")(op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: 1, content: op.ADULT_POLICY, name: "Renamed" } });
    expect(first.errors).toBeUndefined();
    expect(first.data.updateDraft).toMatchObject({ revision: 2, content: op.ADULT_POLICY, base: { name: "Renamed" } });
    const stale = await as("editor")(op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: 1, content: "lost update" } });
    expect(errorCodes(stale)).toEqual(["CONFLICT"]);
    expect(stale.errors?.[0]?.message).toMatch(/revision 2, not 1/);
    expect((await as("editor")(op.RECORD, { id: draft.id })).data.record.content).toBe(op.ADULT_POLICY);
  });

  it("rejects bad input with BAD_USER_INPUT naming the field, and writes nothing", async () => {
    const before = await gateway.database.prisma.base.count();
    const empty = await as("editor")(op.CREATE_POLICY, { input: { name: "", content: "x" } });
    expect(errorCodes(empty)).toEqual(["BAD_USER_INPUT"]);
    const badTest = await as("editor")(op.CREATE_POLICY, { input: { name: "t", content: "x", tests: [{ name: "t", data: {}, expected: "yes" }] } });
    expect(errorCodes(badTest)).toEqual(["BAD_USER_INPUT"]);
    expect(badTest.errors?.[0]?.message).toMatch(/tests\[0\]\.expected/);
    const badSchema = await as("editor")(op.CREATE_POLICY, { input: { name: "t", content: "x", inputSchema: [1] } });
    expect(badSchema.errors?.[0]?.message).toMatch(/inputSchema/);
    expect(await gateway.database.prisma.base.count()).toBe(before);
  });

  it("treats malformed, unknown and foreign IDs alike: NOT_FOUND", async () => {
    const foreign = await createPolicy();
    for (const id of ["not-a-uuid", "00000000-0000-4000-8000-000000000000", foreign.base.id]) {
      const who = id === foreign.base.id ? "stranger" : "editor";
      expect(errorCodes(await as(who)(op.BASE, { id }))).toEqual(["NOT_FOUND"]);
    }
    expect(errorCodes(await as("stranger")(op.RECORD, { id: foreign.id }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("stranger")(op.UPDATE_DRAFT, { input: { draftId: foreign.id, expectedRevision: 1, content: "x" } }))).toEqual(["NOT_FOUND"]);
  });
});

describe("publish, versions and drafts from versions", () => {
  it("publishes drafts as versions 1, 2… making the base organisation-owned and removing the draft", async () => {
    const draft = await createPolicy();
    const v1 = await publish(draft.id);
    expect(v1).toMatchObject({ versionNumber: 1, content: op.AGE_POLICY, description: "first", base: { ownership: "ORGANISATION_OWNED" } });
    const base = (await as("viewer")(op.BASE, { id: draft.base.id })).data.base;
    expect(base).toMatchObject({ draft: null, latestVersion: { versionNumber: 1 }, runnableRecord: { id: v1.id } });
    expect(base.firstPublishedAt).not.toBeNull();

    const again = await as("editor")(op.PUBLISH, { input: { draftId: draft.id, description: "x" } });
    expect(errorCodes(again)).toEqual(["FORBIDDEN"]); // editors may not publish at all
    expect(errorCodes(await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "x" } }))).toEqual(["NOT_FOUND"]);

    // Organisation-owned now: any editor may draft and edit it.
    const copy = await as("editor")(op.DRAFT_FROM_VERSION, { versionId: v1.id });
    expect(copy.data.createDraftFromVersion).toMatchObject({ status: "DRAFT", content: op.AGE_POLICY, revision: 1 });
    const conflicting = await as("editor")(op.DRAFT_FROM_VERSION, { versionId: v1.id });
    expect(errorCodes(conflicting)).toEqual(["CONFLICT"]);
    const replaced = await as("editor")(op.DRAFT_FROM_VERSION, { versionId: v1.id, replace: true });
    expect(replaced.errors).toBeUndefined();
    const edited = await as("editor")(op.UPDATE_DRAFT, {
      input: { draftId: replaced.data.createDraftFromVersion.id, expectedRevision: 1, content: op.ADULT_POLICY },
    });
    const v2 = await publish(edited.data.updateDraft.id, "publisher", "second");
    expect(v2.versionNumber).toBe(2);

    const records = (await as("viewer")(op.RECORDS, { baseId: draft.base.id })).data.records;
    expect(records.map((r) => r.versionNumber)).toEqual([2, 1]);
    const comparison = (await as("viewer")(op.COMPARE, { left: v1.id, right: v2.id })).data.compareRecords;
    expect(comparison.lines).toEqual([
      { kind: "REMOVED", text: op.AGE_POLICY },
      { kind: "ADDED", text: op.ADULT_POLICY },
    ]);
  });

  it("requires a description to publish", async () => {
    const draft = await createPolicy();
    const response = await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "   " } });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
  });

  it("keeps versions immutable even for the database owner's own writes", async () => {
    const draft = await createPolicy();
    const version = await publish(draft.id);
    await expect(gateway.database.prisma.version.update({ where: { id: version.id }, data: { content: "tampered" } })).rejects.toThrow(/immutable/);
  });

  it("numbers versions 1..N without gaps when 50 publishes race (10 at a time for each draft)", async () => {
    const draft = await createPolicy();
    const baseId = draft.base.id;
    const v1 = await publish(draft.id);
    const winners: number[] = [];
    for (let round = 0; round < 5; round++) {
      const draftId = (await as("publisher")(op.DRAFT_FROM_VERSION, { versionId: v1.id })).data.createDraftFromVersion.id;
      const racing = await Promise.all(Array.from({ length: 10 }, () => as("publisher")(op.PUBLISH, { input: { draftId, description: `round ${round}` } })));
      const won = racing.filter((r) => !r.errors);
      expect(won).toHaveLength(1);
      for (const lost of racing.filter((r) => r.errors)) expect(errorCodes(lost)).toEqual([expect.stringMatching(/CONFLICT|NOT_FOUND/)]);
      winners.push(won[0]!.data.publishDraft.versionNumber!);
    }
    expect(winners).toEqual([2, 3, 4, 5, 6]);
    const stored = await gateway.database.prisma.version.findMany({ where: { baseId }, orderBy: { number: "asc" }, select: { number: true } });
    expect(stored.map((v) => v.number)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("publishes many bases at once without one base.s lock holding up another", async () => {
    // Many bases published concurrently exercise the per-base lock without serialising unrelated bases.
    const drafts = await Promise.all(Array.from({ length: 20 }, () => createPolicy()));
    const versions = await Promise.all(drafts.map((d) => publish(d.id)));
    expect(versions.every((v) => v.versionNumber === 1)).toBe(true);
  });
});

describe("delete and restore", () => {
  it("hides a deleted base everywhere and blocks every run path, then restores it", async () => {
    const draft = await createPolicy();
    const version = await publish(draft.id);
    const baseId = draft.base.id;
    expect(errorCodes(await as("editor")(op.DELETE_BASE, { id: version.id }))).toEqual(["FORBIDDEN"]);
    expect((await as("admin")(op.DELETE_BASE, { id: version.id })).data.deleteBase.id).toBe(baseId);

    expect(errorCodes(await as("viewer")(op.BASE, { id: baseId }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("viewer")(op.RECORD, { id: version.id }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("viewer")(op.RUN_POLICY, { baseId, data: {} }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("viewer")(op.RUN_RECORD, { recordId: version.id, data: {} }))).toEqual(["NOT_FOUND"]);
    const listed = (await as("admin")(op.BASES, { first: 100 })).data.bases.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(listed).not.toContain(baseId);
    expect(errorCodes(await as("admin")(op.DELETE_BASE, { id: baseId }))).toEqual(["NOT_FOUND"]);

    expect(errorCodes(await as("stranger")(op.RESTORE_BASE, { id: baseId }))).toEqual(["NOT_FOUND"]);
    expect((await as("admin")(op.RESTORE_BASE, { id: baseId })).data.restoreBase.id).toBe(baseId);
    expect(errorCodes(await as("admin")(op.RESTORE_BASE, { id: baseId }))).toEqual(["CONFLICT"]);
    const run = await as("viewer")(op.RUN_POLICY, { baseId, data: { Person: { age: 30 } } });
    expect(run.data.runPolicy.result).toBe(true);
    expect(run.data.runPolicy.record?.recordId).toBe(version.id);
  });
});

describe("listing", () => {
  it("lists organisation-owned bases and the caller's own drafts, filtered and paginated by cursor", async () => {
    const own = await createPolicy("editor2", op.AGE_POLICY, { name: "zz-list-own" });
    const published = await createPolicy("editor", op.AGE_POLICY, { name: "zz-list-published" });
    await publish(published.id, "admin");
    await createPolicy("editor", op.AGE_POLICY, { name: "zz-list-hidden" });
    const flow = (await as("editor2")(op.CREATE_FLOW, { input: { name: "zz-list-flow", content: "flow:\n  start: []\n" } })).data.createFlow;

    const page = async (first: number, after?: string) => (await as("editor2")(op.BASES, { first, after, filter: { nameContains: "ZZ-LIST" } })).data.bases;
    const p1 = await page(2);
    expect(p1.totalCount).toBe(3);
    expect(p1.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(["zz-list-flow", "zz-list-own"]);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = await page(2, p1.pageInfo.endCursor ?? undefined);
    expect(p2.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(["zz-list-published"]);
    expect(p2.pageInfo.hasNextPage).toBe(false);

    const flows = (await as("editor2")(op.BASES, { first: 10, filter: { nameContains: "zz-list", kind: "FLOW" } })).data.bases;
    expect(flows.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([flow.base.id]);
    const drafts = (await as("editor2")(op.BASES, { first: 10, filter: { nameContains: "zz-list", hasDraft: true, published: false } })).data.bases;
    expect(drafts.totalCount).toBe(2);
    expect(own.base.id).toBeTruthy();

    const bad = await as("editor2")(op.BASES, { first: 2, after: "garbage" });
    expect(errorCodes(bad)).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("editor2")(op.BASES, { first: 1000 }))).toEqual(["BAD_USER_INPUT"]);
  });
});

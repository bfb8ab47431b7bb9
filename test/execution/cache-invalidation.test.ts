import { afterAll, beforeAll, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

// Two gateway processes' worth of state (separate pools, caches and LISTEN connections) on one database.
let first: TestGateway;
let second: TestGateway;
let tenant: TestTenant;
let auth: Record<string, string>;

beforeAll(async () => {
  first = await startTestGateway();
  second = await startTestGateway({}, first.db);
  tenant = await createTenant(first.database.prisma, { admin: ["ADMIN"] });
  auth = { authorization: `Bearer ${await first.tokenFor(tenant.users.admin!.subject)}` };
});
afterAll(async () => {
  await second?.stop();
  await first?.stop();
});

const on = (gateway: TestGateway) => graphqlClient(gateway).as(auth);
const runOnSecond = async (baseId: string, age: number) => await on(second)(op.RUN_POLICY, { baseId, data: { Person: { age } } });

it("an instance runs what another instance just published, edited, deleted or restored", async () => {
  const draft = (await on(first)(op.CREATE_POLICY, { input: { name: "cached", content: op.AGE_POLICY } })).data.createPolicy;
  const baseId = draft.base.id;

  // The second instance caches the draft, compiled…
  expect((await runOnSecond(baseId, 19)).data.runPolicy).toMatchObject({ result: true, record: { status: "DRAFT" } });
  expect((await on(second)(op.RUN_RECORD, { recordId: draft.id, data: { Person: { age: 19 } } })).data.runPolicyRecord.result).toBe(true);

  // …the first edits the draft: both the by-base and the by-record entries on the second are dropped.
  await on(first)(op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: 1, content: op.ADULT_POLICY } });
  expect((await runOnSecond(baseId, 19)).data.runPolicy).toMatchObject({ result: false, rule: [op.ADULT_POLICY] });
  expect((await on(second)(op.RUN_RECORD, { recordId: draft.id, data: { Person: { age: 19 } } })).data.runPolicyRecord.result).toBe(false);

  // Publishing switches the runnable record from the draft to version 1.
  const v1 = (await on(first)(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } })).data.publishDraft;
  expect((await runOnSecond(baseId, 25)).data.runPolicy.record).toMatchObject({ recordId: v1.id, versionNumber: 1 });
  expect(errorCodes(await on(second)(op.RUN_RECORD, { recordId: draft.id, data: {} }))).toEqual(["NOT_FOUND"]);

  const next = (await on(first)(op.DRAFT_FROM_VERSION, { versionId: v1.id })).data.createDraftFromVersion;
  await on(first)(op.UPDATE_DRAFT, { input: { draftId: next.id, expectedRevision: 1, content: op.AGE_POLICY } });
  const v2 = (await on(first)(op.PUBLISH, { input: { draftId: next.id, description: "v2" } })).data.publishDraft;
  expect((await runOnSecond(baseId, 19)).data.runPolicy).toMatchObject({ result: true, record: { recordId: v2.id, versionNumber: 2 } });

  await on(first)(op.DELETE_BASE, { id: baseId });
  expect(errorCodes(await runOnSecond(baseId, 19))).toEqual(["NOT_FOUND"]);
  expect(errorCodes(await on(second)(op.RUN_RECORD, { recordId: v1.id, data: {} }))).toEqual(["NOT_FOUND"]);

  await on(first)(op.RESTORE_BASE, { id: baseId });
  expect((await runOnSecond(baseId, 19)).data.runPolicy.record?.versionNumber).toBe(2);
});

it("a run in one process never uses what another process deleted before the run began", async () => {
  // Called in-process, not over HTTP, so nothing but the cache's catch-up stands between the change and the run.
  const admin = tenant.users.admin!;
  const principal = { kind: "user" as const, tenantId: tenant.id, userId: admin.id, roles: admin.roles };
  const created = (await on(first)(op.CREATE_POLICY, { input: { name: "raced", content: op.AGE_POLICY } })).data.createPolicy;
  const target = { by: "base" as const, id: created.base.id };
  const data = { Person: { age: 30 } };
  for (let i = 0; i < 20; i++) {
    expect((await second.services.execution.runPolicy(principal, target, data)).response.result).toBe(true);
    await first.services.lifecycle.deleteBase(principal, target.id);
    await expect(second.services.execution.runPolicy(principal, target, data)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await first.services.lifecycle.restoreBase(principal, target.id);
  }
});

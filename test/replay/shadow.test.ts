import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShadowRunner } from "../../src/modules/replay/shadow-runner.js";
import { DISAGREEMENTS_KEPT } from "../../src/stores/shadow.store.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { grpcClients, toStruct, unary } from "../grpc/support.js";

/** Issue #18 point 4: shadow runs. Point 2's sweep of expired recorded inputs is at the end. */

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let viewKey: string;
let as: GraphQLClient["as"];

beforeAll(async () => {
  gateway = await startTestGateway({ GRPC_PORT: "0" });
  tenant = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], publisher: ["PUBLISHER"], editor: ["EDITOR"], viewer: ["VIEWER"] });
  other = await createTenant(gateway.database.prisma, { stranger: ["ADMIN"] });
  viewKey = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  as = graphqlClient(gateway, tenant, other).as;
});
afterAll(() => gateway?.stop());

const SET = `mutation($input: SetShadowInput!) { setShadow(input: $input) { baseId recordId counts { runs agreed disagreed errors dropped } disagreements { sequence } } }`;
const STATUS = `query($baseId: ID!) { shadow(baseId: $baseId) { baseId recordId setAt lastRunAt counts { runs agreed disagreed errors dropped }
  disagreements { sequence occurredAt liveRecordId shadowRecordId liveResult liveError shadowResult shadowError data } } }`;
const CONFIGURE = `mutation($input: RecordingSettingsInput!) { configureRecording(input: $input) { enabled } }`;

/** A published policy (age > 18) and a draft of it (age >= 21) to shadow it with. */
async function policyWithCandidate() {
  const draft = (await as("publisher")(op.CREATE_POLICY, { input: { name: `s-${Math.random()}`, content: op.AGE_POLICY } })).data.createPolicy;
  const version = (await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } })).data.publishDraft;
  const candidate = (await as("publisher")(op.DRAFT_FROM_VERSION, { versionId: version.id })).data.createDraftFromVersion;
  await as("publisher")(op.UPDATE_DRAFT, { input: { draftId: candidate.id, expectedRevision: candidate.revision, content: op.ADULT_POLICY } });
  return { baseId: draft.base.id as string, versionId: version.id as string, candidateId: candidate.id as string };
}

const status = async (baseId: string) => {
  await gateway.services.shadowRunner.flush();
  const response = await as("publisher")(STATUS, { baseId });
  expect(response.errors).toBeUndefined();
  return response.data.shadow;
};
const runGraphQL = (baseId: string, age: number) => as("viewer")(op.RUN_POLICY, { baseId, data: { Person: { age, ssn: "123" } } });
const runRest = (baseId: string, age: number) =>
  fetch(`${gateway.url}/run/policy/${baseId}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": viewKey },
    body: JSON.stringify({ data: { Person: { age, ssn: "123" } } }),
  });

describe("setShadow", () => {
  it("is for publishers and admins, names a draft or version of the same base, is audited, and a repeat changes nothing", async () => {
    const { baseId, versionId, candidateId } = await policyWithCandidate();
    const elsewhere = await policyWithCandidate();
    expect(errorCodes(await as("editor")(SET, { input: { baseId, recordId: candidateId } }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await as("viewer")(STATUS, { baseId }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await as("stranger")(SET, { input: { baseId, recordId: candidateId } }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await as("publisher")(SET, { input: { baseId, recordId: elsewhere.candidateId } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await as("publisher")(SET, { input: { baseId, recordId: "not-an-id" } }))).toEqual(["NOT_FOUND"]);

    expect((await as("publisher")(STATUS, { baseId })).data.shadow).toMatchObject({ recordId: null, counts: { runs: 0 }, disagreements: [] });
    const set = await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    expect(set.data.setShadow).toEqual({
      baseId,
      recordId: candidateId,
      counts: { runs: 0, agreed: 0, disagreed: 0, errors: 0, dropped: 0 },
      disagreements: [],
    });
    await as("admin")(SET, { input: { baseId, recordId: candidateId } }); // the same again: nothing recorded
    await as("admin")(SET, { input: { baseId, recordId: versionId } });
    await as("admin")(SET, { input: { baseId, recordId: null } });
    const events = await gateway.database.prisma.auditEvent.findMany({ where: { baseId, action: "SHADOW_SET" }, orderBy: { sequence: "asc" } });
    expect(events.map((e) => [e.recordId, e.detail])).toEqual([
      [candidateId, { from: null, to: candidateId }],
      [versionId, { from: candidateId, to: versionId }],
      [null, { from: versionId, to: null }],
    ]);
  });
});

describe("shadow runs", () => {
  it("compares every run of the base (GraphQL, REST, gRPC, batches) with the shadow, without changing the answers", async () => {
    const { baseId, versionId, candidateId } = await policyWithCandidate();
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    // 30: both true; 20: live true, shadow false; 10: both false.
    expect((await runGraphQL(baseId, 20)).data.runPolicy.result).toBe(true);
    const rest = await runRest(baseId, 30);
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { result: boolean }).result).toBe(true);
    const grpc = grpcClients(gateway.grpcAddress!);
    try {
      const answer = await unary(grpc.policy, "RunPolicy", { baseId, data: toStruct({ Person: { age: 20 } }) }, { key: viewKey });
      expect(answer.ok).toBe(true);
    } finally {
      grpc.close();
    }
    await as("viewer")(op.RUN_BATCH, { baseId, inputs: [{ Person: { age: 10 } }, { Person: { age: 30 } }] });

    const shadow = await status(baseId);
    expect(shadow.counts).toEqual({ runs: 5, agreed: 3, disagreed: 2, errors: 0, dropped: 0 });
    expect(shadow.lastRunAt).not.toBeNull();
    // Recording is off for this base, so the disagreements keep the answers but not the inputs.
    expect(shadow.disagreements).toEqual([
      expect.objectContaining({ sequence: 2, liveRecordId: versionId, shadowRecordId: candidateId, liveResult: true, shadowResult: false, data: null }),
      expect.objectContaining({ sequence: 1, liveResult: true, shadowResult: false, liveError: null, shadowError: null, data: null }),
    ]);
    // Nothing was audited for the shadow's evaluations: one EXECUTED event per live call.
    expect(await gateway.database.prisma.auditEvent.count({ where: { baseId, action: "EXECUTED" } })).toBe(4);
  });

  it("keeps the latest disagreements only, with inputs redacted by the base's recording paths when it records", async () => {
    const { baseId, candidateId } = await policyWithCandidate();
    await as("admin")(CONFIGURE, { input: { baseId, enabled: true, redactPaths: ["Person.ssn"] } });
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    const total = DISAGREEMENTS_KEPT + 5;
    for (let i = 0; i < total; i++) expect((await runRest(baseId, 19)).status).toBe(200);
    const shadow = await status(baseId);
    expect(shadow.counts).toMatchObject({ runs: total, disagreed: total });
    expect(shadow.disagreements).toHaveLength(DISAGREEMENTS_KEPT);
    expect(shadow.disagreements.map((d: { sequence: number }) => d.sequence)).toEqual(Array.from({ length: DISAGREEMENTS_KEPT }, (_, i) => total - i));
    expect(shadow.disagreements[0].data).toEqual({ Person: { age: 19, ssn: "[REDACTED]" } });
    expect(await gateway.database.prisma.shadowDisagreement.count({ where: { baseId } })).toBe(DISAGREEMENTS_KEPT);

    // A new shadow starts from zero; deleting the base hides its results.
    await as("publisher")(SET, { input: { baseId, recordId: null } });
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    expect((await status(baseId)).counts.runs).toBe(0);
    expect(await gateway.database.prisma.shadowDisagreement.count({ where: { baseId } })).toBe(0);
    await as("admin")(op.DELETE_BASE, { id: baseId });
    expect(errorCodes(await as("publisher")(STATUS, { baseId }))).toEqual(["NOT_FOUND"]);
  });

  it("shadows flows too, and counts a shadow whose evaluation fails as an error", async () => {
    const leaf = await policyWithCandidate();
    const flowText = (returnTrue: unknown) =>
      `flow:\n  start:\n    - id: s\n      type: start\n      policyId: ${leaf.baseId}\n      onTrue:\n        - id: y\n          type: return\n          returnValue: ${JSON.stringify(returnTrue)}\n      onFalse:\n        - id: n\n          type: return\n          returnValue: "no"\n`;
    const draft = (await as("publisher")(op.CREATE_FLOW, { input: { name: `f-${Math.random()}`, content: flowText("yes") } })).data.createFlow;
    const version = (await as("publisher")(op.PUBLISH, { input: { draftId: draft.id, description: "v1" } })).data.publishDraft;
    const candidate = (await as("publisher")(op.DRAFT_FROM_VERSION, { versionId: version.id })).data.createDraftFromVersion;
    await as("publisher")(op.UPDATE_DRAFT, { input: { draftId: candidate.id, expectedRevision: candidate.revision, content: flowText("approved") } });
    await as("publisher")(SET, { input: { baseId: draft.base.id, recordId: candidate.id } });
    await as("viewer")(op.RUN_FLOW, { baseId: draft.base.id, data: { Person: { age: 30 } } }); // "yes" vs "approved"
    await as("viewer")(op.RUN_FLOW, { baseId: draft.base.id, data: { Person: { age: 10 } } }); // "no" both
    let shadow = await status(draft.base.id);
    expect(shadow.counts).toMatchObject({ runs: 2, agreed: 1, disagreed: 1 });
    expect(shadow.disagreements[0]).toMatchObject({ liveResult: "yes", shadowResult: "approved" });

    // A policy shadow that cannot evaluate the input answers with an error: counted and kept as such.
    const broken = await policyWithCandidate();
    const fresh = (await as("publisher")(op.RECORD, { id: broken.candidateId })).data.record;
    await as("publisher")(op.UPDATE_DRAFT, {
      input: {
        draftId: broken.candidateId,
        expectedRevision: (fresh as { revision: number }).revision,
        content: `A **Person** gets approved if the length of __age__ of **Person** is greater than 5.`,
      },
    });
    await as("publisher")(SET, { input: { baseId: broken.baseId, recordId: broken.candidateId } });
    await runRest(broken.baseId, 30);
    shadow = await status(broken.baseId);
    expect(shadow.counts).toMatchObject({ runs: 1, errors: 1 });
    expect(shadow.disagreements[0].shadowError).toEqual(expect.any(String));
  });

  it("answers without waiting for the shadow, whose evaluation uses the run's pinned time", async () => {
    const { baseId, candidateId } = await policyWithCandidate();
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    const { execution, shadowRunner } = gateway.services;
    const original = execution.evaluateQuietly.bind(execution);
    const seen: Date[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The shadow's evaluation is held until the test lets it go: the runs must answer meanwhile.
    execution.evaluateQuietly = async (actor, runnable, data, now) => {
      seen.push(now);
      await held;
      return original(actor, runnable, data, now);
    };
    try {
      const pinned = "2030-01-02T03:04:05.000Z";
      const started = Date.now();
      const first = await as("viewer")(`mutation($id: ID!, $d: JSONObject!, $now: DateTimeISO) { runPolicy(baseId: $id, data: $d, now: $now) { result } }`, {
        id: baseId,
        d: { Person: { age: 20 } },
        now: pinned,
      });
      expect(first.errors).toBeUndefined();
      const second = await runRest(baseId, 20);
      expect(second.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(seen[0]!.toISOString()).toBe(pinned);
      expect((await gateway.database.prisma.baseShadow.findUnique({ where: { baseId } }))?.runs).toBe(0n);
    } finally {
      release();
      execution.evaluateQuietly = original;
    }
    await shadowRunner.flush();
    expect((await status(baseId)).counts).toMatchObject({ runs: 2, disagreed: 2 });
  });

  it("drops and counts runs when a process's queue is full, and adds every process's counts in the database", async () => {
    const { baseId, versionId, candidateId } = await policyWithCandidate();
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    const { services, database } = gateway;
    // A second "process": its own runner, cache and queue (of two runs) over the same database.
    const second = new ShadowRunner(database, services.stores.shadows, services.runnables, services.execution, async () => null, { maxQueued: 2 });
    await second.start();
    try {
      const actor = { kind: "user", tenantId: tenant.id } as never;
      const run = (age: number) => ({
        actor,
        tenantId: tenant.id,
        baseId,
        recordId: versionId,
        kind: "POLICY" as const,
        data: { Person: { age } },
        now: new Date(),
        result: age > 18,
        error: null,
        batch: false,
      });
      // The first run of a base in a process learns its shadow; then the queue holds two and drops the rest.
      second.observe(run(30));
      await second.flush();
      for (const age of [30, 20, 30, 20, 30]) second.observe(run(age));
      expect(second.droppedRuns).toBe(3);
      await second.flush();
      await runRest(baseId, 20); // and one run through this gateway's own runner
      const shadow = await status(baseId);
      expect(shadow.counts).toEqual({ runs: 4, agreed: 2, disagreed: 2, errors: 0, dropped: 3 });
      expect(shadow.disagreements.map((d: { sequence: number }) => d.sequence)).toEqual([2, 1]);
    } finally {
      await second.stop();
    }
  });

  it("counts a run whose shadow evaluation outlasts the interval at which counts are written", async () => {
    const { baseId, versionId, candidateId } = await policyWithCandidate();
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    const { services, database } = gateway;
    let started!: () => void;
    const evaluating = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The real evaluation, held until the runner has written its counts at least once meanwhile.
    const slowExecution = {
      evaluateQuietly: async (...args: Parameters<typeof services.execution.evaluateQuietly>) => {
        started();
        await held;
        return services.execution.evaluateQuietly(...args);
      },
    } as unknown as typeof services.execution;
    const runner = new ShadowRunner(database, services.stores.shadows, services.runnables, slowExecution, async () => null, { flushIntervalMs: 10 });
    await runner.start();
    try {
      const actor = { kind: "user", tenantId: tenant.id } as never;
      const data = { Person: { age: 20 } };
      runner.observe({
        actor,
        tenantId: tenant.id,
        baseId,
        recordId: versionId,
        kind: "POLICY",
        data,
        now: new Date(),
        result: true,
        error: null,
        batch: false,
      });
      await evaluating;
      await new Promise((resolve) => setTimeout(resolve, 50)); // five flush intervals
      release();
      await runner.flush();
      expect((await status(baseId)).counts).toMatchObject({ runs: 1, disagreed: 1 });
    } finally {
      await runner.stop();
    }
  });

  it("exports each live base's counters in /metrics", async () => {
    const { baseId, candidateId } = await policyWithCandidate();
    await as("publisher")(SET, { input: { baseId, recordId: candidateId } });
    await runRest(baseId, 20);
    await runRest(baseId, 30);
    await gateway.services.shadowRunner.flush();
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const line = (outcome: string) => `verdict_shadow_runs_total{tenant="${tenant.id}",base="${baseId}",outcome="${outcome}"}`;
    expect(text).toContain(`${line("agreed")} 1`);
    expect(text).toContain(`${line("disagreed")} 1`);
    expect(text).toContain(`${line("error")} 0`);
    expect(text).toContain(`${line("dropped")} 0`);
  });
});

describe("expired recorded inputs", () => {
  it("are deleted by a sweep one process claims per interval, whether or not the base still records", async () => {
    const { baseId } = await policyWithCandidate();
    await as("admin")(CONFIGURE, { input: { baseId, enabled: true, retentionDays: 2 } });
    const { prisma } = gateway.database;
    const day = 86_400_000;
    const row = (ageDays: number) => ({
      tenantId: tenant.id,
      baseId,
      recordId: baseId,
      inputCount: 1,
      inputs: [{ ageDays }],
      recordedAt: new Date(Date.now() - ageDays * day),
    });
    await prisma.recordedInputChunk.createMany({ data: [row(5), row(3), row(1), row(0)] });
    await as("admin")(CONFIGURE, { input: { baseId, enabled: false, retentionDays: 2 } }); // stops recording: inputs still expire

    expect(await gateway.services.inputRecorder.sweepExpired(0)).toBeGreaterThanOrEqual(2);
    const kept = await prisma.recordedInputChunk.findMany({ where: { baseId }, orderBy: { id: "asc" } });
    expect(kept.map((r) => r.inputs)).toEqual([[{ ageDays: 1 }], [{ ageDays: 0 }]]);
    // Claimed just now: another process checking within the interval does not sweep again.
    expect(await gateway.services.inputRecorder.sweepExpired()).toBeNull();
  });
});

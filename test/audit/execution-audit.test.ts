import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantActor } from "../../src/identity/actor.js";
import { verifyChain } from "../../src/modules/audit/audit-verifier.js";
import { appendAfterHead, readChainHead } from "../../src/modules/audit/audit-recorder.js";
import { ExecutionAuditBatcher, ExecutionAuditClosedError } from "../../src/modules/audit/execution-audit.js";
import { AUDIT_FAILURE_MARKER, installAuditFailureTrigger } from "../support/kit.js";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
  await installAuditFailureTrigger(gateway.db.url);
});
afterAll(() => gateway?.stop());

const userPrincipal = (t: TestTenant, who: string): TenantActor => ({ kind: "user", tenantId: t.id, userId: t.users[who]!.id, roles: t.users[who]!.roles });
const executed = (n: number, extra: Record<string, unknown> = {}) => ({
  action: "EXECUTED" as const,
  resourceKind: "POLICY" as const,
  detail: { n, ...extra },
});

describe("ExecutionAuditBatcher", () => {
  it("commits every one of many concurrent events, each with its own actor, in fewer transactions", async () => {
    const a = await createTenant(gateway.database.prisma, { u1: ["VIEWER"], u2: ["VIEWER"] });
    const b = await createTenant(gateway.database.prisma, { u3: ["VIEWER"] });
    const key = await createApiKey(gateway.database.prisma, a.id, ["VIEW"]);
    const keyPrincipal: TenantActor = { kind: "apiKey", tenantId: a.id, apiKeyId: key.id, scopes: ["VIEW"] };
    const batcher = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 64 });

    const calls: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const principal = i % 4 === 3 ? userPrincipal(b, "u3") : [userPrincipal(a, "u1"), userPrincipal(a, "u2"), keyPrincipal][i % 4]!;
      calls.push(batcher.record(principal, principal.tenantId, executed(i)));
    }
    await Promise.all(calls);

    const stats = batcher.stats;
    expect(stats.events).toBe(400);
    expect(stats.transactions).toBeLessThan(400 / 4);
    const rows = await gateway.database.prisma.auditEvent.findMany({
      where: { tenantId: { in: [a.id, b.id] } },
      orderBy: [{ tenantId: "asc" }, { sequence: "asc" }],
    });
    expect(rows).toHaveLength(400);
    const byN = new Map(rows.map((row) => [(row.detail as { n: number }).n, row]));
    for (let i = 0; i < 400; i++) {
      const row = byN.get(i)!;
      expect(row.action).toBe("EXECUTED");
      if (i % 4 === 3) expect(row).toMatchObject({ tenantId: b.id, actorType: "USER", actorId: b.users.u3!.id });
      else if (i % 4 === 2) expect(row).toMatchObject({ tenantId: a.id, actorType: "API_KEY", actorId: key.id });
      else expect(row).toMatchObject({ tenantId: a.id, actorType: "USER", actorId: (i % 4 === 0 ? a.users.u1 : a.users.u2)!.id });
    }
    // Within a tenant the chain follows the order of the calls.
    const aOrder = rows.filter((r) => r.tenantId === a.id).map((r) => (r.detail as { n: number }).n);
    expect(aOrder).toEqual([...aOrder].sort((x, y) => x - y));
    for (const t of [a, b]) {
      expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: t === a ? 300 : 100 });
    }
    await batcher.close();
  });

  it("keeps one chain when two processes' batchers append to one tenant at once", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    // Two batchers on one database are what two gateway processes are: each appends after the head it last left.
    const first = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 8 });
    const second = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 8 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? first : second).record(principal, t.id, executed(i))));
    expect(first.stats.events + second.stats.events).toBe(300);
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 300 });
    // A batcher that lost a race queues on the head's lock for a while instead of losing again and again
    // (before, each of the ~38 batches could lose up to three times).
    expect(first.stats.lostRaces + second.stats.lostRaces).toBeLessThan(10);
    await Promise.all([first.close(), second.close()]);
  });

  /** Records `count` events one turn of the event loop apart, so that they go in many batches while others are being written. */
  const spread = (count: number, record: (i: number) => Promise<void>): Promise<PromiseSettledResult<void>[]> =>
    (async () => {
      const calls: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        calls.push(record(i));
        await new Promise((resolve) => setImmediate(resolve));
      }
      return Promise.allSettled(calls);
    })();

  it("keeps one unbroken chain of a tenant's batches in the order of the calls", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    const batcher = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 3 });
    const outcomes = await spread(200, (i) => batcher.record(principal, t.id, executed(i)));
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
    expect(batcher.stats).toMatchObject({ events: 200, lostRaces: 0 });
    expect(batcher.stats.transactions).toBeGreaterThan(10);
    const rows = await gateway.database.prisma.auditEvent.findMany({ where: { tenantId: t.id }, orderBy: { sequence: "asc" } });
    expect(rows.map((row) => (row.detail as { n: number }).n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 200 });
    await batcher.close();
  });

  it("keeps one chain when two processes' batchers append to one tenant at once, turn by turn", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    const first = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 2 });
    const second = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 2 });
    const outcomes = await spread(300, (i) => (i % 2 ? first : second).record(principal, t.id, executed(i)));
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
    expect(first.stats.events + second.stats.events).toBe(300);
    expect(first.stats.lostRaces + second.stats.lostRaces).toBeGreaterThan(0);
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id } })).toBe(300);
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 300 });
    await Promise.all([first.close(), second.close()]);
  });

  it("fails only the failed batch's callers; every other caller answers once its own event is committed", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    const batcher = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 1 });
    // Each caller, once answered, looks its own event up: it must be committed already.
    const unseen: number[] = [];
    const outcomes = await spread(60, (i) =>
      batcher.record(principal, t.id, executed(i, i === 30 || i === 45 ? { note: AUDIT_FAILURE_MARKER } : {})).then(async () => {
        const found = await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id, detail: { path: ["n"], equals: i } } });
        if (found !== 1) unseen.push(i);
      }),
    );
    expect(unseen).toEqual([]);
    const rejected = outcomes.flatMap((o, i) => (o.status === "rejected" ? [i] : []));
    expect(rejected).toEqual([30, 45]);
    const rows = await gateway.database.prisma.auditEvent.findMany({ where: { tenantId: t.id }, orderBy: { sequence: "asc" } });
    expect(rows.map((row) => (row.detail as { n: number }).n)).toEqual(Array.from({ length: 60 }, (_, i) => i).filter((i) => i !== 30 && i !== 45));
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 58 });
    await batcher.close();
  });

  it("appends after a stale or foreign head nothing at all, and after the current head everything", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const entries = [{ actor: userPrincipal(t, "u"), event: executed(1) }];
    const genesis = await readChainHead(gateway.database, t.id);
    const moved = await appendAfterHead(gateway.database, t.id, genesis, entries);
    expect(moved).toMatchObject({ sequence: 1n });
    expect(await appendAfterHead(gateway.database, t.id, genesis, entries)).toBeNull();
    // The right sequence number with another hash is a head some other writer reached: refused as well.
    expect(await appendAfterHead(gateway.database, t.id, { sequence: moved!.sequence, hash: "f".repeat(64) }, entries)).toBeNull();
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id } })).toBe(1);
    expect(await appendAfterHead(gateway.database, t.id, moved!, entries)).toMatchObject({ sequence: 2n });
    expect(await readChainHead(gateway.database, t.id)).toMatchObject({ sequence: 2n });
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 2 });
  });

  it("interleaves with ordinary audited changes in one unbroken chain", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["EDITOR"] });
    const principal = userPrincipal(t, "u");
    const batcher = new ExecutionAuditBatcher(gateway.database);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      work.push(batcher.record(principal, t.id, executed(i)));
      if (i % 10 === 0) work.push(gateway.services.groups.create(principal, { name: `g${i}` }));
    }
    await Promise.all(work);
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 66 });
    await batcher.close();
  });

  it("fails every caller of a failed batch and loses no event of the others", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    const batcher = new ExecutionAuditBatcher(gateway.database, { maxBatchSize: 10 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => batcher.record(principal, t.id, executed(i, i === 25 ? { note: "audit-must-fail" } : {}))),
    );
    const rejected = outcomes.flatMap((o, i) => (o.status === "rejected" ? [i] : []));
    expect(rejected).toContain(25);
    expect(rejected.length).toBeLessThanOrEqual(10);
    const stored = new Set((await gateway.database.prisma.auditEvent.findMany({ where: { tenantId: t.id } })).map((r) => (r.detail as { n: number }).n));
    // Exactly the events whose callers were told "committed" are stored.
    for (let i = 0; i < 50; i++) expect(stored.has(i)).toBe(!rejected.includes(i));
    for (const i of rejected) expect((outcomes[i] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 50 - rejected.length });
    await batcher.close();
  });

  it("refuses a malformed event on its own, without failing the batch it would have joined", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    const batcher = new ExecutionAuditBatcher(gateway.database);
    const malformed = [
      { action: "EXECUTED" as const, resourceKind: "POLICY" as const, baseId: "not-a-uuid" },
      { action: "EXECUTED" as const, resourceKind: "POLICY" as const, version: 2 ** 40 },
      { action: "EXECUTED" as const, resourceKind: "POLICY" as const, detail: { text: "nul \u0000 inside" } },
      { action: "EXECUTED" as const, resourceKind: "POLICY" as const, detail: { text: "half \ud800 a pair" } },
      { action: "EXECUTED" as const, resourceKind: "POLICY" as const, detail: { big: 1n } },
    ];
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => batcher.record(principal, t.id, executed(i, { text: "backslash-u \\u0000 is fine", emoji: "😀" }))),
      ...malformed.map((event) => batcher.record(principal, t.id, event)),
    ]);
    expect(outcomes.slice(0, 10).every((o) => o.status === "fulfilled")).toBe(true);
    for (const outcome of outcomes.slice(10))
      expect(outcome).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/^Audit event refused/) } });
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id } })).toBe(10);
    expect(await verifyChain(gateway.services.stores.audit, t.id)).toMatchObject({ valid: true, checkedEvents: 10 });
    await batcher.close();
  });

  it("flushes what is pending on close and refuses events afterwards", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    const principal = userPrincipal(t, "u");
    const batcher = new ExecutionAuditBatcher(gateway.database);
    let committed = 0;
    const pending = Array.from({ length: 30 }, (_, i) => batcher.record(principal, t.id, executed(i)).then(() => void committed++));
    await batcher.close();
    expect(committed).toBe(30);
    await Promise.all(pending);
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id } })).toBe(30);
    await expect(batcher.record(principal, t.id, executed(99))).rejects.toBeInstanceOf(ExecutionAuditClosedError);
    await batcher.close(); // closing twice is harmless
  });

  it("is the services' executionAudit, and a single event commits on its own", async () => {
    const t = await createTenant(gateway.database.prisma, { u: ["VIEWER"] });
    expect(gateway.services.executionAudit).toBeInstanceOf(ExecutionAuditBatcher);
    await gateway.services.executionAudit.record(userPrincipal(t, "u"), t.id, { action: "EXECUTED", resourceKind: "FLOW", baseId: t.users.u!.id });
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id, action: "EXECUTED", resourceKind: "FLOW" } })).toBe(1);
  });
});

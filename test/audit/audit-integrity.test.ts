import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditService } from "../../src/modules/audit/audit.service.js";
import {
  asSuperuser,
  createTenant,
  errorCodes,
  fixtures,
  type GraphQLClient,
  graphqlClient,
  installAuditFailureTrigger,
  startTestGateway,
  type TestGateway,
  type TestTenant,
} from "../support/kit.js";

let gateway: TestGateway;
let gql: GraphQLClient;

beforeAll(async () => {
  gateway = await startTestGateway();
  gql = graphqlClient(gateway);
  await installAuditFailureTrigger(gateway.db.url);
});
afterAll(() => gateway?.stop());

const VERIFY = `{ verifyAuditChain { valid checkedEvents firstBrokenSequence reason } }`;
const CREATE = `mutation($name: String!) { createGroup(input: { name: $name }) { id } }`;

async function tenantWithEvents(count: number) {
  const t = await createTenant(gateway.database.prisma, { eve: ["EDITOR"], aud: ["AUDITOR"] });
  for (let i = 1; i <= count; i++) {
    expect((await gql({ user: t.users.eve! }, CREATE, { name: `g${i}` })).errors).toBeUndefined();
  }
  return t;
}
const verify = async (t: TestTenant) => (await gql({ user: t.users.aud! }, VERIFY)).data.verifyAuditChain;

describe("a change and its audit event commit together", () => {
  it("rolls a group creation back when its event cannot be written", async () => {
    const t = await tenantWithEvents(1);
    const failed = await gql({ user: t.users.eve! }, CREATE, { name: "audit-must-fail" });
    expect(errorCodes(failed)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(await gateway.database.prisma.group.count({ where: { tenantId: t.id, name: "audit-must-fail" } })).toBe(0);
    expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: t.id } })).toBe(1);
    expect(await gateway.database.prisma.auditChainHead.findUnique({ where: { tenantId: t.id } })).toMatchObject({ lastSequence: 1n });
    expect(await verify(t)).toMatchObject({ valid: true, checkedEvents: 1 });
  });

  it("rolls a rename and a membership change back when their events cannot be written", async () => {
    const t = await tenantWithEvents(1);
    const group = await gateway.database.prisma.group.findFirstOrThrow({ where: { tenantId: t.id } });
    const rename = await gql({ user: t.users.eve! }, `mutation($id: ID!) { updateGroup(id: $id, input: { name: "audit-must-fail" }) { id } }`, {
      id: group.id,
    });
    expect(errorCodes(rename)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect((await gateway.database.prisma.group.findUniqueOrThrow({ where: { id: group.id } })).name).toBe("g1");

    // The membership event names the group, so a group whose name carries the marker cannot gain members.
    const marked = await gateway.database.prisma.group.create({ data: { tenantId: t.id, name: "x audit-must-fail x" } });
    const base = await fixtures(gateway.database.prisma).base(t).ownedBy("eve").published().create();
    const add = await gql({ user: t.users.eve! }, `mutation($g: ID!, $b: ID!) { addGroupMember(groupId: $g, baseId: $b) { id } }`, {
      g: marked.id,
      b: base.id,
    });
    expect(errorCodes(add)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(await gateway.database.prisma.groupMember.count({ where: { groupId: marked.id } })).toBe(0);
    expect(await verify(t)).toMatchObject({ valid: true, checkedEvents: 1 });
  });
});

describe("the hash chain", () => {
  it("stays one unbroken chain under 50 concurrent writers", async () => {
    const t = await createTenant(gateway.database.prisma, { eve: ["EDITOR"], aud: ["AUDITOR"] });
    const headers = await gql.headersOf({ user: t.users.eve! });
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => gql(headers, CREATE, { name: `concurrent-${i}` })));
    expect(responses.flatMap((r) => errorCodes(r))).toEqual([]);
    const events = await gateway.database.prisma.auditEvent.findMany({ where: { tenantId: t.id }, orderBy: { sequence: "asc" } });
    expect(events.map((e) => Number(e.sequence))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => e.groupId)).size).toBe(50);
    expect(await verify(t)).toEqual({ valid: true, checkedEvents: 50, firstBrokenSequence: null, reason: null });
  });

  it("reports the sequence of a row altered behind the gateway's back", async () => {
    const t = await tenantWithEvents(8);
    await asSuperuser(gateway.db.url, async (client) => {
      await client.query("SET session_replication_role = replica"); // bypasses the append-only trigger
      await client.query(`UPDATE audit_events SET detail = '{"name":"forged"}' WHERE tenant_id = $1 AND sequence = 5`, [t.id]);
    });
    expect(await verify(t)).toEqual({
      valid: false,
      checkedEvents: 4,
      firstBrokenSequence: "5",
      reason: expect.stringMatching(/event 5 was altered/),
    });
  });

  it("reports a row whose time was moved, even with the append-only trigger switched off", async () => {
    const t = await tenantWithEvents(4);
    await asSuperuser(gateway.db.url, async (client) => {
      await client.query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
      try {
        await client.query(`UPDATE audit_events SET occurred_at = occurred_at - interval '1 day' WHERE tenant_id = $1 AND sequence = 2`, [t.id]);
      } finally {
        await client.query("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
      }
    });
    expect(await verify(t)).toMatchObject({ valid: false, firstBrokenSequence: "2" });
  });

  it("reports a removed row at its sequence, and a removed tail against the chain head", async () => {
    const middle = await tenantWithEvents(6);
    const tail = await tenantWithEvents(6);
    await asSuperuser(gateway.db.url, async (client) => {
      await client.query("SET session_replication_role = replica");
      await client.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND sequence = 3`, [middle.id]);
      await client.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND sequence >= 5`, [tail.id]);
    });
    expect(await verify(middle)).toMatchObject({ valid: false, checkedEvents: 2, firstBrokenSequence: "3", reason: expect.stringMatching(/missing/) });
    expect(await verify(tail)).toMatchObject({ valid: false, checkedEvents: 4, firstBrokenSequence: "5", reason: expect.stringMatching(/missing/) });
  });

  it("reports a row added past the chain head, and rows without any head", async () => {
    const added = await tenantWithEvents(3);
    const headless = await tenantWithEvents(2);
    await asSuperuser(gateway.db.url, async (client) => {
      await client.query(
        `INSERT INTO audit_events (tenant_id, sequence, actor_type, action, resource_kind, previous_hash, hash)
         SELECT tenant_id, 4, actor_type, action, resource_kind, hash, hash FROM audit_events WHERE tenant_id = $1 AND sequence = 3`,
        [added.id],
      );
      await client.query(`DELETE FROM audit_chain_heads WHERE tenant_id = $1`, [headless.id]);
    });
    expect(await verify(added)).toMatchObject({
      valid: false,
      checkedEvents: 3,
      firstBrokenSequence: "4",
      reason: expect.stringMatching(/beyond the chain head/),
    });
    expect(await verify(headless)).toMatchObject({ valid: false, checkedEvents: 0, firstBrokenSequence: "1" });
  });

  it("checks appends that commit while it runs", async () => {
    const t = await tenantWithEvents(1);
    const principal = { kind: "user" as const, tenantId: t.id, userId: t.users.eve!.id, roles: ["EDITOR" as const] };
    const writes = Array.from({ length: 30 }, (_, i) => gateway.services.groups.create(principal, { name: `during-${i}` }));
    const service = new AuditService(gateway.services.stores.audit, { verifyPageSize: 2 });
    const auditor = { kind: "user" as const, tenantId: t.id, userId: t.users.aud!.id, roles: ["AUDITOR" as const] };
    const during = await Promise.all([service.verify(auditor), ...writes]);
    expect(during[0]).toMatchObject({ valid: true, firstBrokenSequence: null });
    expect(await verify(t)).toEqual({ valid: true, checkedEvents: 31, firstBrokenSequence: null, reason: null });
  });

  it("refuses updates and deletes of audit rows through ordinary sessions", async () => {
    const t = await tenantWithEvents(1);
    await expect(gateway.database.prisma.auditEvent.updateMany({ where: { tenantId: t.id }, data: { detail: {} } })).rejects.toThrow(/immutable/);
    await expect(gateway.database.prisma.auditEvent.deleteMany({ where: { tenantId: t.id } })).rejects.toThrow(/immutable/);
  });

  it("verifies across many pages the same way as in one", async () => {
    const t = await tenantWithEvents(23);
    const principal = { kind: "user" as const, tenantId: t.id, userId: t.users.aud!.id, roles: ["AUDITOR" as const] };
    for (const pageSize of [1, 5, 22, 23, 500]) {
      const service = new AuditService(gateway.services.stores.audit, { verifyPageSize: pageSize });
      expect(await service.verify(principal)).toEqual({ valid: true, checkedEvents: 23, firstBrokenSequence: null, reason: null });
    }
    await asSuperuser(gateway.db.url, async (client) => {
      await client.query("SET session_replication_role = replica");
      await client.query(`UPDATE audit_events SET actor_id = NULL WHERE tenant_id = $1 AND sequence = 17`, [t.id]);
    });
    for (const pageSize of [1, 5, 16, 17, 500]) {
      const service = new AuditService(gateway.services.stores.audit, { verifyPageSize: pageSize });
      expect(await service.verify(principal)).toMatchObject({ valid: false, checkedEvents: 16, firstBrokenSequence: "17" });
    }
  });
});

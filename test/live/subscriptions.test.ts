/**
 * Subscriptions over graphql-ws, through two gateway processes' worth of gateways on one database: a change
 * made through one gateway reaches subscribers of the other through Postgres LISTEN/NOTIFY.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BoundedStream, StreamOverflowError } from "../../src/modules/live/bounded-stream.js";
import { AUDIT_APPENDED_CHANNEL } from "../../src/modules/live/live.service.js";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { graphql, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import { subscribe, subscriptionClient } from "../support/subscriptions.js";

const POLICY = "A **Person** gets approved if the __age__ of the **Person** is at least 18.";
const BASE_CHANGED = `subscription ($id: ID!) { baseChanged(baseId: $id) { baseId change recordId version } }`;
const AUDIT = `subscription { auditEvents { sequence action baseId actorId } }`;

let writer: TestGateway; // where changes are made
let reader: TestGateway; // where subscribers listen: another gateway on the same database
let tenant: TestTenant;
let other: TestTenant;
let as: GraphQLClient["as"];
const clients: { dispose(): void }[] = [];

beforeAll(async () => {
  writer = await startTestGateway();
  reader = await startTestGateway({}, writer.db);
  tenant = await createTenant(writer.database.prisma, {
    admin: ["ADMIN"],
    publisher: ["PUBLISHER"],
    editor: ["EDITOR"],
    viewer: ["VIEWER"],
    auditor: ["AUDITOR"],
  });
  other = await createTenant(writer.database.prisma, { outsider: ["ADMIN"] });
  as = graphqlClient(writer, tenant, other).as;
});
afterAll(async () => {
  for (const client of clients) client.dispose();
  await reader?.stop();
  await writer?.stop();
});

async function bearer(name: string, t: TestTenant = tenant): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await writer.tokenFor(t.users[name]!.subject)}` };
}
function connect(params: Record<string, unknown>) {
  const connection = subscriptionClient(reader.url, params);
  clients.push(connection);
  return connection;
}
/** Waits until the reader process holds `count` subscriptions (bounded by the test's timeout). */
async function subscribersReach(count: number): Promise<void> {
  while (reader.services.live.subscriberCount() !== count) await new Promise((resolve) => setTimeout(resolve, 20));
}
async function createPolicy(name: string): Promise<{ baseId: string; draftId: string }> {
  const created = await as("publisher")(
    `mutation ($name: String!, $content: String!) { createPolicy(input: { name: $name, content: $content }) { id base { id } } }`,
    { name, content: POLICY },
  );
  return { baseId: created.data.createPolicy.base.id, draftId: created.data.createPolicy.id };
}

describe("baseChanged", () => {
  it("delivers a base's edits, publish, delete and restore made through another gateway, and no runs", async () => {
    const { baseId, draftId } = await createPolicy("Live policy");
    const before = reader.services.live.subscriberCount();
    const { client } = connect(await bearer("viewer"));
    const changes = subscribe(client, BASE_CHANGED, { id: baseId });
    await subscribersReach(before + 1);

    expect(
      (
        await as("publisher")(`mutation ($id: ID!) { updateDraft(input: { draftId: $id, expectedRevision: 1, description: "edited" }) { revision } }`, {
          id: draftId,
        })
      ).errors,
    ).toBeUndefined();
    await as("viewer")(`mutation ($id: ID!) { runPolicy(baseId: $id, data: { person: { age: 30 } }) { result } }`, { id: baseId });
    expect(
      (await as("publisher")(`mutation ($id: ID!) { publishDraft(input: { draftId: $id, description: "first" }) { id } }`, { id: draftId })).errors,
    ).toBeUndefined();
    expect((await as("admin")(`mutation ($id: ID!) { deleteBase(id: $id) { id } }`, { id: baseId })).errors).toBeUndefined();
    expect((await as("admin")(`mutation ($id: ID!) { restoreBase(id: $id) { id } }`, { id: baseId })).errors).toBeUndefined();

    const received = [await changes.next(), await changes.next(), await changes.next(), await changes.next()];
    expect(received.map((r) => r.data?.baseChanged.change)).toEqual(["EDITED", "PUBLISHED", "DELETED", "RESTORED"]);
    expect(received.every((r) => r.data?.baseChanged.baseId === baseId)).toBe(true);
    expect(received[1]!.data.baseChanged.version).toBe(1);
    changes.unsubscribe();
    await subscribersReach(before);
  });

  it("refuses a base of another tenant, or a missing one, as NOT_FOUND, and anonymous callers as UNAUTHENTICATED", async () => {
    const { baseId } = await createPolicy("Not yours");
    const outsider = connect(await bearer("outsider", other));
    expect((await subscribe(outsider.client, BASE_CHANGED, { id: baseId }).next()).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const anonymous = connect({});
    expect((await subscribe(anonymous.client, BASE_CHANGED, { id: baseId }).next()).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("refuses a connection with a bad credential, and queries or mutations over WebSocket", async () => {
    const bad = connect({ Authorization: "Bearer not-a-token" });
    expect((await bad.closed).code).toBe(4403);
    const good = connect(await bearer("viewer"));
    const query = await subscribe(good.client, `{ viewer { credential } }`).next();
    expect(query.errors?.[0]?.message).toMatch(/Only subscriptions/);
  });
});

describe("auditEvents", () => {
  it("streams the tenant's new events to auditors, never another tenant's", async () => {
    const before = reader.services.live.subscriberCount();
    const auditor = connect(await bearer("auditor"));
    const events = subscribe(auditor.client, AUDIT);
    await subscribersReach(before + 1);
    await as("outsider")(`mutation { createPolicy(input: { name: "Elsewhere", content: "A **X** gets y if __z__ of **X** is 1." }) { id } }`);
    const { baseId } = await createPolicy("Audited live");
    const first = await events.next();
    expect(first.data.auditEvents).toMatchObject({ action: "CREATED", baseId, actorId: tenant.users.publisher!.id });
    events.unsubscribe();
  });

  it("streams runs too, in sequence order, although runs are not announced (one NOTIFY per run batch would serialise commits)", async () => {
    const announced: string[] = [];
    const stopListening = await writer.database.listen(AUDIT_APPENDED_CHANNEL, (tenantId) => announced.push(tenantId));
    try {
      const { baseId, draftId } = await createPolicy("Runs streamed");
      await as("publisher")(`mutation ($id: ID!) { publishDraft(input: { draftId: $id, description: "live" }) { id } }`, { id: draftId });
      const before = reader.services.live.subscriberCount();
      const events = subscribe(connect(await bearer("auditor")).client, AUDIT);
      await subscribersReach(before + 1);
      await writer.database.catchUp();
      announced.length = 0;

      const run = await as("viewer")(`mutation ($id: ID!) { runPolicy(baseId: $id, data: { person: { age: 30 } }) { result } }`, { id: baseId });
      expect(run.errors).toBeUndefined();
      expect((await events.next()).data.auditEvents).toMatchObject({ action: "EXECUTED", baseId });
      await writer.database.catchUp();
      expect(announced).toEqual([]);

      await as("admin")(`mutation ($id: ID!) { deleteBase(id: $id) { id } }`, { id: baseId });
      expect((await events.next()).data.auditEvents).toMatchObject({ action: "DELETED", baseId });
      await writer.database.catchUp();
      expect(announced).toEqual([tenant.id]);
      events.unsubscribe();
    } finally {
      await stopListening();
    }
  });

  it("refuses viewers (FORBIDDEN)", async () => {
    const viewer = connect(await bearer("viewer"));
    expect((await subscribe(viewer.client, AUDIT).next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});

describe("losing access closes the connection", () => {
  it("when its API key is revoked", async () => {
    const created = await as("admin")(`mutation { createApiKey(input: { name: "live", scopes: [VIEW] }) { apiKey { id } secretShownOnce } }`);
    const { baseId } = await createPolicy("Watched by a key");
    const before = reader.services.live.subscriberCount();
    const keyed = connect({ "x-api-key": created.data.createApiKey.secretShownOnce });
    subscribe(keyed.client, BASE_CHANGED, { id: baseId });
    await subscribersReach(before + 1);
    await as("admin")(`mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: created.data.createApiKey.apiKey.id });
    expect((await keyed.closed).code).toBe(4403);
  });

  it("when its user loses a role", async () => {
    const { baseId } = await createPolicy("Watched by an editor");
    const before = reader.services.live.subscriberCount();
    const editor = connect(await bearer("editor"));
    subscribe(editor.client, BASE_CHANGED, { id: baseId });
    await subscribersReach(before + 1);
    const removed = await as("admin")(`mutation ($id: ID!) { removeRoles(userId: $id, roles: [EDITOR]) { roles } }`, { id: tenant.users.editor!.id });
    expect(removed.errors).toBeUndefined();
    expect((await editor.closed).code).toBe(4403);
  });
});

describe("bounded buffers", () => {
  it("end a subscription whose reader falls behind instead of queueing without bound", async () => {
    let closed = 0;
    const stream = new BoundedStream<number>(3, () => (closed += 1));
    for (let i = 0; i < 3; i += 1) stream.push(i);
    expect(await stream.next()).toEqual({ value: 0, done: false });
    stream.push(3);
    stream.push(4); // the fourth waiting event: over capacity
    await expect(stream.next()).rejects.toBeInstanceOf(StreamOverflowError);
    expect(closed).toBe(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});

it("graphql answers stay on HTTP: the WebSocket endpoint does not disturb GraphiQL or queries", async () => {
  const response = await graphql(reader.url, `{ version { gateway } }`);
  expect(response.status).toBe(200);
});

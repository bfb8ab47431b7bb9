import http from "node:http";
import { gzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { graphql, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { authoring, deleteBase, expectPolicyExecution, lastExecutedRecord, post, SDK_USER_AGENTS } from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
let other: TestTenant;
let author: ReturnType<typeof authoring>;
let adminToken: string;
const keys: Record<string, string> = {};
let viewKeyId: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  const { prisma } = gateway.database;
  tenant = await createTenant(prisma, { publisher: ["PUBLISHER"], admin: ["ADMIN"] });
  other = await createTenant(prisma, { stranger: ["ADMIN"] });
  author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
  adminToken = await gateway.tokenFor(tenant.users.admin!.subject);
  const view = await createApiKey(prisma, tenant.id, ["VIEW"]);
  viewKeyId = view.id;
  keys.view = view.key;
  keys.edit = (await createApiKey(prisma, tenant.id, ["EDIT"])).key;
  keys.audit = (await createApiKey(prisma, tenant.id, ["AUDIT"])).key;
  keys.expired = (await createApiKey(prisma, tenant.id, ["VIEW"], { expiresAt: new Date(Date.now() - 1000) })).key;
  keys.revoked = (await createApiKey(prisma, tenant.id, ["VIEW"], { revokedAt: new Date() })).key;
  keys.foreign = (await createApiKey(prisma, other.id, ["VIEW"])).key;
});
afterAll(() => gateway?.stop());

const AGE = op.AGE_POLICY;
const LABELLED = `A **Person** gets a loan
  if __age__ of **Person** is at least 18
  and the **Person** passes the debt check.
debt_check. A **Person** passes the debt check
  if __debt__ of **Person** is less than 1000.
`;

describe("POST /run: an unsaved rule", () => {
  it("answers every SDK's request with the full response body, ignoring tests and schema", async () => {
    for (const [sdk, userAgent] of Object.entries(SDK_USER_AGENTS)) {
      const body = {
        rule: AGE,
        data: { Person: { age: 25 } },
        tests: [{ name: "adult", data: { Person: { age: 30 } }, expected: true }],
        schema: { type: "object" },
      };
      const response = await post(gateway.url, "/run", body, { key: keys.view, headers: { "user-agent": userAgent, accept: "application/json" } });
      expect(response.status, sdk).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      const { execution, ...rest } = response.body;
      expect(rest).toEqual({
        result: true,
        trace: {
          execution: [
            {
              selector: { value: "Person" },
              outcome: { value: "approved" },
              conditions: [
                expect.objectContaining({
                  property: { value: 25, path: "$.Person.age" },
                  operator: "GreaterThan",
                  value: expect.objectContaining({ value: 18, type: "number" }),
                  evaluation_details: {
                    left_value: { value: 25, type: "number" },
                    right_value: { value: 18, type: "number" },
                    comparison_result: true,
                  },
                  result: true,
                }),
              ],
              result: true,
            },
          ],
        },
        rule: [AGE],
        data: { Person: { age: 25 } },
        error: null,
        labels: null,
      });
      expectPolicyExecution(execution, { databaseZero: true });
    }
  });

  it("answers false with 200, splits the rule into lines and reports labels", async () => {
    const response = await post(gateway.url, "/run", { rule: LABELLED, data: { Person: { age: 30, debt: 5000 } } }, { key: keys.view });
    expect(response.status).toBe(200);
    expect(response.body.result).toBe(false);
    expect(response.body.error).toBeNull();
    expect(response.body.rule).toEqual(LABELLED.split("\n").slice(0, -1));
    expect(response.body.labels).toEqual({ debt_check: false });
    expect(response.body.data).toEqual({ Person: { age: 30, debt: 5000 } });
    const crlf = await post(
      gateway.url,
      "/run",
      { rule: "A **Person** gets approved\r\n if __age__ of **Person** is greater than 18.\r\n", data: { Person: { age: 3 } } },
      { key: keys.view },
    );
    expect(crlf.status).toBe(200);
    expect(crlf.body.rule).toEqual(["A **Person** gets approved", " if __age__ of **Person** is greater than 18."]);
  });

  it("answers a rule that does not parse with 400 and the full body: parse-error trace, labels null", async () => {
    const response = await post(gateway.url, "/run", { rule: "A **user** passes if.", data: {} }, { key: keys.view });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ result: false, rule: ["A **user** passes if."], data: {}, labels: null });
    expect(response.body.error).toMatch(/^Parse error: --> 1:\d+ /);
    const [entry] = response.body.trace.execution;
    expect(entry).toMatchObject({
      label: "Parse Error",
      selector: { value: "parser", pos: { line: 1, start: 0, end: 21 } },
      outcome: { value: "parse_failed" },
      result: false,
    });
    expect(entry.conditions[0].property.path).toBe("$.rule_syntax.line_1");
    expectPolicyExecution(response.body.execution, { databaseZero: true });
  });

  it("answers evaluation and type errors with 400 and the partial trace", async () => {
    const division = "A **Store** is profitable if __revenue__ of **Store** / __expenses__ of **Store** is greater than 1.5.";
    const byZero = await post(gateway.url, "/run", { rule: division, data: { Store: { revenue: 100, expenses: 0 } } }, { key: keys.view });
    expect(byZero.status).toBe(400);
    expect(byZero.body).toMatchObject({
      result: false,
      error: "Evaluation error: Division by zero",
      labels: null,
      data: { Store: { revenue: 100, expenses: 0 } },
    });
    expect(byZero.body.trace.execution[0].result).toBe(false);
    const typeError = await post(gateway.url, "/run", { rule: division, data: { Store: { revenue: "lots", expenses: 2 } } }, { key: keys.view });
    expect(typeError.status).toBe(400);
    expect(typeError.body.error).toMatch(/^Type error: /);
  });

  it("refuses malformed bodies with 400 VALIDATION_ERROR and exactly {code, message}", async () => {
    const cases: [string, string | undefined, RegExp][] = [
      ["{not json", undefined, /not valid JSON/],
      [JSON.stringify({ data: {} }), undefined, /'rule' is required/],
      [JSON.stringify({ rule: AGE }), undefined, /'data' is required/],
      [JSON.stringify({ rule: AGE, data: [1, 2] }), undefined, /'data' must be a JSON object/],
      [JSON.stringify({ rule: AGE, data: null }), undefined, /'data' must be a JSON object/],
      [JSON.stringify({ rule: AGE, data: "x" }), undefined, /'data' must be a JSON object/],
      [JSON.stringify({ rule: 42, data: {} }), undefined, /'rule' must be a string/],
      [JSON.stringify([{ rule: AGE, data: {} }]), undefined, /request body must be a JSON object/],
      ["", undefined, /'rule' is required/],
    ];
    for (const [raw, , message] of cases) {
      const response = await post(gateway.url, "/run", undefined, { key: keys.view, raw });
      expect(response.status, raw).toBe(400);
      expect(Object.keys(response.body).sort(), raw).toEqual(["code", "message"]);
      expect(response.body.code).toBe("VALIDATION_ERROR");
      expect(response.body.message, raw).toMatch(message);
    }
  });

  it("survives hostile bodies: deep nesting and wide data are refused or evaluated, never a crash", async () => {
    const deep = `{"rule": ${JSON.stringify(AGE)}, "data": {"Person": ${"[".repeat(200_000)}${"]".repeat(200_000)}}}`;
    const nested = await post(gateway.url, "/run", undefined, { key: keys.view, raw: deep });
    expect(nested.status).toBe(400);
    expect(nested.body).toEqual({ code: "VALIDATION_ERROR", message: "'data' is nested too deeply" });
    const flow = await post(gateway.url, "/flow/test", undefined, {
      key: keys.view,
      raw: `{"flow": "flow:\\n  start:\\n    - id: c\\n      type: custom\\n      outcome: x\\n", "data": {"x": ${"[".repeat(200_000)}${"]".repeat(200_000)}}}`,
    });
    expect(flow.status).toBe(400);
    expect(flow.body).toEqual({ code: "VALIDATION_ERROR", message: "validation error on field 'data': is nested too deeply", details: { field: "data" } });
    const wide = { rule: AGE, data: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) };
    const response = await post(gateway.url, "/run", wide, { key: keys.view });
    expect(response.status).toBe(200);
    expect(response.body.result).toBe(false);
    expect((await post(gateway.url, "/run", { rule: AGE, data: { Person: { age: 30 } } }, { key: keys.view })).status).toBe(200);
  });

  it("reads the body as JSON whatever content type the client sends", async () => {
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8"]) {
      const response = await post(
        gateway.url,
        "/run",
        { rule: AGE, data: { Person: { age: 40 } } },
        { key: keys.view, headers: { "content-type": contentType } },
      );
      expect(response.status, contentType).toBe(200);
      expect(response.body.result).toBe(true);
    }
  });
});

describe("POST /run/policy/{baseId} and /run/policy_version/{policyId}", () => {
  it("runs the draft of a never-published base by ID with a key, then the latest version once published", async () => {
    const draft = await author.policy(AGE, false);
    const onDraft = await post(
      gateway.url,
      `/run/policy/${draft.baseId}`,
      { data: { Person: { age: 30 } } },
      { key: keys.view, headers: { "user-agent": SDK_USER_AGENTS.python } },
    );
    expect(onDraft.status).toBe(200);
    expect(onDraft.body).toMatchObject({ result: true, rule: [AGE], data: { Person: { age: 30 } }, error: null, labels: null });
    expect(onDraft.body.trace.execution[0].outcome.value).toBe("approved");
    expectPolicyExecution(onDraft.body.execution, { databaseZero: false });
    const event = await lastExecutedRecord(gateway, draft.baseId);
    expect(event).toMatchObject({ recordId: draft.recordId, version: null, actorType: "API_KEY", actorId: viewKeyId, resourceKind: "POLICY" });

    const published = await graphql(
      gateway.url,
      op.PUBLISH,
      { input: { draftId: draft.recordId, description: "v1" } },
      { authorization: `Bearer ${await gateway.tokenFor(tenant.users.publisher!.subject)}` },
    );
    const versionId = published.data.publishDraft.id;
    const newer = await author.newDraft(versionId, op.ADULT_POLICY);
    const onVersion = await post(gateway.url, `/run/policy/${draft.baseId}`, { data: { Person: { age: 19 } } }, { key: keys.view });
    expect(onVersion.status).toBe(200);
    expect(onVersion.body).toMatchObject({ result: true, rule: [AGE] });
    expect(await lastExecutedRecord(gateway, draft.baseId)).toMatchObject({ recordId: versionId, version: 1 });

    // Exact records: the version, and the newer draft (which says 21, so 19 is refused).
    const exactVersion = await post(gateway.url, `/run/policy_version/${versionId}`, { data: { Person: { age: 19 } } }, { key: keys.view });
    expect(exactVersion.status).toBe(200);
    expect(exactVersion.body).toMatchObject({ result: true, rule: [AGE] });
    const exactDraft = await post(gateway.url, `/run/policy_version/${newer}`, { data: { Person: { age: 19 } } }, { key: keys.edit });
    expect(exactDraft.status).toBe(200);
    expect(exactDraft.body).toMatchObject({ result: false, rule: [op.ADULT_POLICY], error: null });
    expect(await lastExecutedRecord(gateway, draft.baseId)).toMatchObject({ recordId: newer, version: null });
  });

  it("answers a stored rule that does not evaluate with 400 and the full body", async () => {
    const broken = await author.policy("A **user** passes if.", false);
    const response = await post(gateway.url, `/run/policy/${broken.baseId}`, { data: { user: {} } }, { key: keys.view });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ result: false, rule: ["A **user** passes if."], labels: null });
    expect(response.body.error).toMatch(/^Parse error: /);
    expectPolicyExecution(response.body.execution, { databaseZero: false });
  });

  it("answers 404 {code, message} for unknown, malformed, foreign, deleted and wrong-kind IDs", async () => {
    const live = await author.policy(AGE, true);
    const doomed = await author.policy(AGE, true);
    const doomedDraft = await author.newDraft(doomed.recordId, op.ADULT_POLICY);
    await deleteBase(graphqlClient(gateway), { token: adminToken }, doomed.baseId);
    const flow = await author.flow(`flow:\n  start:\n    - id: s\n      type: start\n      policyId: ${live.baseId}\n`, true);
    const foreign = (
      await graphql(
        gateway.url,
        op.CREATE_POLICY,
        { input: { name: "f", content: AGE } },
        { authorization: `Bearer ${await gateway.tokenFor(other.users.stranger!.subject)}` },
      )
    ).data.createPolicy;

    const attempts: [string, string][] = [
      ["/run/policy/00000000-0000-4000-8000-000000000000", keys.view!],
      ["/run/policy/not-an-id", keys.view!],
      [`/run/policy/${foreign.base.id}`, keys.view!],
      [`/run/policy_version/${foreign.id}`, keys.view!],
      [`/run/policy/${doomed.baseId}`, keys.view!],
      [`/run/policy_version/${doomed.recordId}`, keys.view!],
      [`/run/policy_version/${doomedDraft}`, keys.view!],
      [`/run/policy/${flow.baseId}`, keys.view!],
      [`/run/policy_version/${flow.recordId}`, keys.view!],
      // The foreign tenant's own key cannot see this tenant's policy either.
      [`/run/policy/${live.baseId}`, keys.foreign!],
    ];
    for (const [path, key] of attempts) {
      const response = await post(gateway.url, path, { data: {} }, { key });
      expect(response.status, path).toBe(404);
      expect(Object.keys(response.body).sort(), path).toEqual(["code", "message"]);
      expect(response.body.code).toBe("NOT_FOUND");
    }
    expect(await lastExecutedRecord(gateway, doomed.baseId)).toBeNull();
  });

  it("answers only once the run's event is committed (its answer is written before), with the wait in its timings", async () => {
    const live = await author.policy(AGE, true);
    // Another transaction holds the tenant's chain head: the run's audit batch waits on it, and so must the answer.
    const holder = new pg.Client({ connectionString: gateway.db.url });
    await holder.connect();
    const heldMs = 400;
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM audit_chain_heads WHERE tenant_id = $1 FOR UPDATE", [tenant.id]);
      let answered = false;
      const running = post(gateway.url, `/run/policy/${live.baseId}`, { data: { Person: { age: 25 } } }, { key: keys.view }).finally(() => {
        answered = true;
      });
      await new Promise((resolve) => setTimeout(resolve, heldMs));
      expect(answered).toBe(false);
      expect(await lastExecutedRecord(gateway, live.baseId)).toBeNull();
      await holder.query("COMMIT");
      const response = await running;
      expect(response.status).toBe(200);
      expect(response.body.result).toBe(true);
      expect(await lastExecutedRecord(gateway, live.baseId)).toMatchObject({ recordId: live.recordId });
      // The timings are taken after the commit, although the rest of the body was written before it.
      expect(Number(response.body.execution.total)).toBeGreaterThanOrEqual(heldMs * 1e6);
      expectPolicyExecution(response.body.execution, { databaseZero: false });
    } finally {
      await holder.end();
    }
  });
});

describe("authentication, scope and limits on every route", () => {
  const routes = ["/run", "/run/policy/00000000-0000-4000-8000-000000000000", "/run/policy_version/x", "/run/flow/x", "/run/flow_version/x", "/flow/test"];

  it("answers 401 for a missing, malformed, unknown, expired or revoked key, before reading the body", async () => {
    const unknownButWellFormed = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key.replace(
      /^(vdk_)(.)/,
      (_, p, c) => `${p}${c === "a" ? "b" : "a"}`,
    );
    const cases: [string, string | null][] = [
      ["missing", null],
      ["malformed", "not-a-key"],
      ["unknown", unknownButWellFormed],
      ["expired", keys.expired!],
      ["revoked", keys.revoked!],
    ];
    for (const route of routes) {
      for (const [what, key] of cases) {
        const response = await post(gateway.url, route, undefined, { key, raw: "{not even json" });
        expect(response.status, `${route} ${what}`).toBe(401);
        expect(response.body, `${route} ${what}`).toEqual({ code: "UNAUTHENTICATED", message: expect.any(String) });
      }
    }
    // A bearer token is not an API key.
    const token = await gateway.tokenFor(tenant.users.admin!.subject);
    expect((await post(gateway.url, "/run", { rule: AGE, data: {} }, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it("answers 403 for a key without the view scope", async () => {
    for (const route of routes) {
      const body = route === "/run" ? { rule: AGE, data: {} } : route === "/flow/test" ? { data: {}, flow: "flow:\n  start: []\n" } : { data: {} };
      const response = await post(gateway.url, route, body, { key: keys.audit });
      expect(response.status, route).toBe(403);
      expect(response.body, route).toEqual({ code: "FORBIDDEN", message: expect.any(String) });
    }
  });

  it("fails a key on the very next request after it is revoked", async () => {
    const { prisma } = gateway.database;
    const created = await createApiKey(prisma, tenant.id, ["VIEW"]);
    expect((await post(gateway.url, "/run", { rule: AGE, data: {} }, { key: created.key })).status).toBe(200);
    const revoke = await graphql(
      gateway.url,
      `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
      { id: created.id },
      { authorization: `Bearer ${adminToken}` },
    );
    expect(revoke.errors).toBeUndefined();
    expect((await post(gateway.url, "/run", { rule: AGE, data: {} }, { key: created.key })).status).toBe(401);
  });

  it("answers 413 {code, message} for a body over the limit", async () => {
    const big = { rule: AGE, data: { blob: "x".repeat(1024 * 1024 + 10) } };
    for (const route of ["/run", "/run/policy/x", "/flow/test"]) {
      const response = await post(gateway.url, route, big, { key: keys.view });
      expect(response.status, route).toBe(413);
      expect(response.body).toEqual({ code: "PAYLOAD_TOO_LARGE", message: expect.any(String) });
    }
  });

  it("answers a body declared over the limit with 413 without reading it, and closes that connection", async () => {
    // Only the headers and a few bytes are sent: the answer must not wait for the promised two megabytes.
    const answer = await new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const request = http.request(`${gateway.url}/run/policy/x`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(2 * 1024 * 1024), "x-api-key": keys.view! },
      });
      request.on("response", (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        response.on("end", () => resolve({ status: response.statusCode!, connection: response.headers.connection, body }));
      });
      request.on("error", reject);
      request.write('{"data":{"blob":"');
    });
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe("close");
    expect(JSON.parse(answer.body)).toEqual({ code: "PAYLOAD_TOO_LARGE", message: "The request body is larger than 1048576 bytes" });
  });

  it("refuses a compressed body with 415, naming the encoding", async () => {
    const response = await fetch(`${gateway.url}/run`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", "x-api-key": keys.view! },
      body: gzipSync(JSON.stringify({ rule: AGE, data: { person: { age: 20 } } })),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ code: "UNSUPPORTED_MEDIA_TYPE", message: "Compressed request bodies (content-encoding: gzip) are not accepted" });
  });

  it("reads a body that starts with a byte-order mark", async () => {
    const response = await post(gateway.url, "/run", null, { key: keys.view, raw: `\uFEFF${JSON.stringify({ rule: AGE, data: { person: { age: 20 } } })}` });
    expect(response.status).toBe(200);
    expect(response.body.result).toBe(true);
  });

  it("answers with the client's request ID and counts each route in the metrics under its pattern", async () => {
    const response = await post(
      gateway.url,
      "/run",
      { rule: AGE, data: { person: { age: 20 } } },
      { key: keys.view, headers: { "x-request-id": "sdk-call-7" } },
    );
    expect(response.headers.get("x-request-id")).toBe("sdk-call-7");
    await post(gateway.url, `/run/policy/${crypto.randomUUID()}`, { data: {} }, { key: keys.view });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/verdict_http_request_duration_seconds_count\{method="POST",route="\/run",status="200"\} [1-9]/);
    expect(metrics).toMatch(/verdict_http_request_duration_seconds_count\{method="POST",route="\/run\/policy\/:baseId",status="404"\} [1-9]/);
  });

  it("answers unknown REST routes with 404 and keeps GraphQL working beside them", async () => {
    const response = await post(gateway.url, "/run/nothing/here", { data: {} }, { key: keys.view });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ code: "NOT_FOUND", message: "No such route" });
    expect((await graphql(gateway.url, "{ __typename }")).status).toBe(200);
  });
});

import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant, type TestTenant } from "../support/fixtures.js";
import { startGatewayBehindProxy, startTestGateway, type ProxiedGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";
import { EXECUTION_PROTO } from "../../src/grpc/proto.js";
import { authoring, loanFlow, post } from "../support/kit.js";
import { fromStruct, grpcClients, runResponseJson, statusName, toStruct, unary, type GrpcClients } from "./support.js";

/** product.md §7.1's status codes, with the REST shim's messages, over a real port. */
const BODY_LIMIT = 64 * 1024;

describe("one gateway", () => {
  let gateway: TestGateway;
  let clients: GrpcClients;
  let tenant: TestTenant;
  let policy: { baseId: string; recordId: string };
  let flow: { baseId: string; recordId: string };
  let key: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ GRPC_PORT: "0", BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    clients = grpcClients(gateway.grpcAddress!);
    tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
    const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
    policy = await author.policy(op.AGE_POLICY, true);
    flow = await author.flow(loanFlow(policy.baseId, policy.baseId), true);
    key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
  });
  afterAll(async () => {
    clients?.close();
    await gateway?.stop();
  });

  const data = toStruct({ Person: { age: 30 } });

  it("refuses a call without a key as REST does, and takes no bearer token instead", async () => {
    const rest = await post(gateway.url, `/run/policy/${policy.baseId}`, { data: { Person: { age: 30 } } });
    for (const metadata of [{}, { authorization: `Bearer ${await gateway.tokenFor(tenant.users.publisher!.subject)}` }]) {
      const m = new grpc.Metadata();
      for (const [k, v] of Object.entries(metadata)) m.set(k, v);
      const outcome = await new Promise<grpc.ServiceError | null>((resolve) =>
        (clients.policy as any).RunPolicy({ baseId: policy.baseId, data }, m, (error: grpc.ServiceError | null) => resolve(error)),
      );
      expect(outcome?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(outcome?.details).toBe(rest.body.message);
    }
  });

  it("answers INVALID_ARGUMENT for both IDs, neither, or no data, naming the problem", async () => {
    const cases: [grpc.Client, "RunPolicy" | "RunFlow", object, string][] = [
      [clients.policy, "RunPolicy", { baseId: policy.baseId, policyId: policy.recordId, data }, "Exactly one of 'base_id' and 'policy_id' must be set"],
      [clients.policy, "RunPolicy", { data }, "Exactly one of 'base_id' and 'policy_id' must be set"],
      [clients.flow, "RunFlow", { baseId: flow.baseId, flowId: flow.recordId, data }, "Exactly one of 'base_id' and 'flow_id' must be set"],
      [clients.flow, "RunFlow", { data }, "Exactly one of 'base_id' and 'flow_id' must be set"],
      [clients.policy, "RunPolicy", { baseId: policy.baseId }, "'data' is required"],
      [clients.flow, "RunFlow", { flowId: flow.recordId }, "'data' is required"],
      [
        clients.policy,
        "RunPolicy",
        { baseId: policy.baseId, data: toStruct({ Person: { age: Number.NaN } }) },
        "'data' holds a number that is not finite (NaN); JSON has none",
      ],
    ];
    for (const [client, method, request, message] of cases) {
      const outcome = await unary(client, method, request, { key });
      expect(statusName(outcome), message).toBe("INVALID_ARGUMENT");
      expect(outcome.error?.details).toBe(message);
    }
    // REST words the missing data the same way.
    expect((await post(gateway.url, `/run/policy/${policy.baseId}`, {}, { key })).body.message).toBe("'data' is required");
    // An empty Struct is data: {}.
    const empty = await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data: {} }, { key });
    expect(empty.ok).toBe(true);
    expect(runResponseJson(empty.response).data).toEqual({});
  });

  it("answers INVALID_ARGUMENT, not INTERNAL, for a message that does not decode or nests deeper than the engine reads", async () => {
    const sendRaw = (bytes: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const m = new grpc.Metadata();
        m.set("x-api-key", key);
        clients.policy.makeUnaryRequest(
          "/policy.v1.PolicyService/RunPolicy",
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          m,
          (error) => resolve(error),
        );
      });
    // This client's own encoder stops where the server's decoder does; encode the message without that limit.
    let deep: Record<string, unknown> = { age: 1 };
    for (let i = 0; i < 150; i++) deep = { inner: deep };
    const RunPolicyRequest = (await protobuf.load(EXECUTION_PROTO)).lookupType("policy.v1.RunPolicyRequest");
    const limit = protobuf.util.recursionLimit;
    protobuf.util.recursionLimit = 10_000;
    let deepBytes: Buffer;
    try {
      deepBytes = Buffer.from(RunPolicyRequest.encode(RunPolicyRequest.fromObject({ baseId: policy.baseId, data: toStruct(deep) })).finish());
    } finally {
      protobuf.util.recursionLimit = limit;
    }
    const tooDeep = await sendRaw(deepBytes);
    expect(tooDeep?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(tooDeep?.details).toBe("'data' is nested too deeply");

    // Data as deep as the engine reads decodes, and the engine answers as over REST.
    let accepted: Record<string, unknown> = { age: 1 };
    for (let i = 0; i < 98; i++) accepted = { inner: accepted };
    const ok = await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data: toStruct(accepted) }, { key });
    expect(ok.ok, ok.error?.details).toBe(true);
    expect(fromStruct(ok.response.data)).toEqual(accepted);

    const raw = await sendRaw(Buffer.from([0x12, 0xff, 0xff, 0x01]));
    expect(raw?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(raw?.details).toBe("The request is not a valid RunPolicyRequest message");
  });

  it("limits messages to the REST body limit: RESOURCE_EXHAUSTED where REST answers 413", async () => {
    const big = { Person: { age: 30, note: "x".repeat(BODY_LIMIT) } };
    const outcome = await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data: toStruct(big) }, { key });
    expect(statusName(outcome)).toBe("RESOURCE_EXHAUSTED");
    expect((await post(gateway.url, `/run/policy/${policy.baseId}`, { data: big }, { key })).status).toBe(413);
    const fits = { Person: { age: 30, note: "x".repeat(BODY_LIMIT - 200) } };
    const answered = await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data: toStruct(fits) }, { key });
    expect(answered.ok, answered.error?.details).toBe(true);
  });

  it("carries numbers in data as the Struct does: doubles, echoed exactly as they arrived", async () => {
    const numbers = {
      Person: { age: 30 },
      id: Number("1541815603606036481"),
      small: 0.1,
      negative: -2.5e-308,
      huge: 1.7976931348623157e308,
      zero: 0,
      list: [1, 2.5, -3],
    };
    const outcome = await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data: toStruct(numbers) }, { key });
    expect(outcome.ok).toBe(true);
    const echoed = runResponseJson(outcome.response).data;
    expect(echoed).toEqual(numbers);
    // The 64-bit integer did not survive the client's double: it comes back as the double it became.
    expect(echoed.id).toBe(1541815603606036500);
    expect(runResponseJson(outcome.response).result).toBe(true);
  });
});

describe("a key over its allowance", () => {
  let gateway: TestGateway;
  let clients: GrpcClients;

  beforeAll(async () => {
    gateway = await startTestGateway({ GRPC_PORT: "0", RATE_LIMIT_PER_MINUTE: "3" });
    clients = grpcClients(gateway.grpcAddress!);
  });
  afterAll(async () => {
    clients?.close();
    await gateway?.stop();
  });

  it("is RESOURCE_EXHAUSTED with retry-after, counted together with its REST calls", async () => {
    const tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
    const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
    const policy = await author.policy(op.AGE_POLICY, true);
    const key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
    const data = { Person: { age: 30 } };
    const request = { baseId: policy.baseId, data: toStruct(data) };
    // The window may turn during the test; the allowance is then fresh, so count until the first refusal.
    const seen: string[] = [];
    for (let i = 0; i < 8 && !seen.includes("RESOURCE_EXHAUSTED"); i++) {
      seen.push(
        i % 2 === 0
          ? statusName(await unary(clients.policy, "RunPolicy", request, { key }))
          : String((await post(gateway.url, `/run/policy/${policy.baseId}`, { data }, { key })).status),
      );
    }
    expect(seen.slice(0, 3)).toEqual(["OK", "200", "OK"]);
    const refused = await unary(clients.policy, "RunPolicy", request, { key });
    expect(statusName(refused)).toBe("RESOURCE_EXHAUSTED");
    const rest = await post(gateway.url, `/run/policy/${policy.baseId}`, { data }, { key });
    expect(rest.status).toBe(429);
    expect(refused.error?.details).toMatch(/^Too many requests; retry in \d+ s$/);
    expect(Number(refused.error?.metadata.get("retry-after")[0])).toBeGreaterThanOrEqual(1);
  });
});

describe("a gateway whose database goes away", () => {
  let behindProxy: ProxiedGateway;
  let clients: GrpcClients;

  beforeAll(async () => {
    behindProxy = await startGatewayBehindProxy({ GRPC_PORT: "0" });
    clients = grpcClients(behindProxy.gateway.grpcAddress!);
  });
  afterAll(async () => {
    clients?.close();
    await behindProxy?.stop();
  });

  it("answers UNAVAILABLE with REST's message, and serves again once it is back", async () => {
    const { gateway, proxy } = behindProxy;
    const tenant = await createTenant(gateway.database.prisma, { publisher: ["PUBLISHER"] });
    const author = authoring(gateway, await gateway.tokenFor(tenant.users.publisher!.subject));
    const policy = await author.policy(op.AGE_POLICY, true);
    const flow = await author.flow(loanFlow(policy.baseId, policy.baseId), true);
    const key = (await createApiKey(gateway.database.prisma, tenant.id, ["VIEW"])).key;
    const data = toStruct({ Person: { age: 30 } });
    expect(statusName(await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data }, { key }))).toBe("OK");

    await proxy.cut();
    const rest = await post(gateway.url, `/run/policy/${policy.baseId}`, { data: { Person: { age: 30 } } }, { key });
    expect(rest.status).toBe(503);
    for (const [client, method, request] of [
      [clients.policy, "RunPolicy", { baseId: policy.baseId, data }],
      [clients.flow, "RunFlow", { flowId: flow.recordId, data }],
    ] as const) {
      const outcome = await unary(client, method, request, { key });
      expect(statusName(outcome), method).toBe("UNAVAILABLE");
      expect(outcome.error?.details, method).toBe(rest.body.message);
    }

    await proxy.restore();
    await expect
      .poll(async () => statusName(await unary(clients.policy, "RunPolicy", { baseId: policy.baseId, data }, { key })), { timeout: 10_000 })
      .toBe("OK");
  });
});

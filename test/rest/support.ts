import { expect } from "vitest";
import { graphql, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

/** The headers the execution SDKs send (besides content-type and x-api-key). */
export const SDK_USER_AGENTS = {
  go: "Go-http-client/1.1",
  python: "python-requests/2.32.3",
  typescript: "node",
  rust: "reqwest/0.12.9",
} as const;

export interface RestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RestCall {
  key?: string | null;
  headers?: Record<string, string>;
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string;
}

/** One POST the way the SDKs send it: JSON body, `content-type: application/json`, `x-api-key`. */
export async function post<T = any>(url: string, path: string, body: unknown, call: RestCall = {}): Promise<RestResponse<T>> {
  const headers: Record<string, string> = { "content-type": "application/json", ...call.headers };
  if (call.key) headers["x-api-key"] = call.key;
  const response = await fetch(`${url}${path}`, { method: "POST", headers, body: call.raw ?? JSON.stringify(body) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Checks the timing identities of the response (docs/language.md#the-response): decimal nanosecond strings that add up. */
export function expectPolicyExecution(execution: any, { databaseZero }: { databaseZero: boolean }): void {
  expect(Object.keys(execution).sort()).toEqual(["engine", "orchestrator", "total"]);
  expect(Object.keys(execution.orchestrator).sort()).toEqual(["database", "go", "total"]);
  for (const value of [execution.engine, execution.total, execution.orchestrator.go, execution.orchestrator.database, execution.orchestrator.total]) {
    expect(value).toMatch(/^\d+$/);
  }
  const { go, database, total } = execution.orchestrator;
  expect(BigInt(total)).toBe(BigInt(go) + BigInt(database));
  expect(BigInt(execution.total)).toBe(BigInt(total) + BigInt(execution.engine));
  expect(BigInt(execution.engine) > 0n).toBe(true);
  if (databaseZero) expect(database).toBe("0");
}

export function expectNanos(value: unknown): void {
  expect(value).toMatch(/^\d+$/);
}

/** Creates policies and flows through GraphQL, as their authors would. */
export function authoring(gateway: TestGateway, publisherToken: string) {
  const as = (query: string, variables: Record<string, unknown>) => graphql(gateway.url, query, variables, { authorization: `Bearer ${publisherToken}` });
  async function create(kind: "policy" | "flow", content: string, publish: boolean) {
    const created = await as(kind === "policy" ? op.CREATE_POLICY : op.CREATE_FLOW, {
      input: { name: `${kind}-${Math.random().toString(36).slice(2)}`, content },
    });
    expect(created.errors).toBeUndefined();
    const draft = kind === "policy" ? created.data.createPolicy : created.data.createFlow;
    if (!publish) return { baseId: draft.base.id as string, recordId: draft.id as string, draftId: draft.id as string };
    const version = await as(op.PUBLISH, { input: { draftId: draft.id, description: "v" } });
    expect(version.errors).toBeUndefined();
    return { baseId: draft.base.id as string, recordId: version.data.publishDraft.id as string, draftId: null };
  }
  return {
    policy: (content: string, publish = true) => create("policy", content, publish),
    flow: (content: string, publish = true) => create("flow", content, publish),
    async newDraft(versionId: string, content: string) {
      const draft = (await as(op.DRAFT_FROM_VERSION, { versionId })).data.createDraftFromVersion;
      const updated = await as(op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: draft.revision, content } });
      expect(updated.errors).toBeUndefined();
      return draft.id as string;
    },
  };
}

export const deleteBase = async (gateway: TestGateway, adminToken: string, id: string) => {
  const response = await graphql(gateway.url, op.DELETE_BASE, { id }, { authorization: `Bearer ${adminToken}` });
  expect(response.errors).toBeUndefined();
};

/** The record the last `executed` event of the base names: which record a run actually ran. */
export async function lastExecutedRecord(gateway: TestGateway, baseId: string) {
  const event = await gateway.database.prisma.auditEvent.findFirst({
    where: { baseId, action: "EXECUTED" },
    orderBy: { sequence: "desc" },
  });
  return event;
}

export { CREDIT_POLICY, loanFlow } from "../support/flows.js";

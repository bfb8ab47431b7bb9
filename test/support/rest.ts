import { expect } from "vitest";
import type { TestGateway } from "./gateway.js";

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

export interface RestRequest extends RestCall {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
}

/** The one REST helper: a request the way the SDKs send it (JSON body, `content-type: application/json`, `x-api-key`); the body comes back parsed when it is JSON. */
export async function rest<T = any>(url: string, path: string, request: RestRequest = {}): Promise<RestResponse<T>> {
  const headers: Record<string, string> = {
    ...(request.body !== undefined || request.raw !== undefined ? { "content-type": "application/json" } : {}),
    ...request.headers,
  };
  if (request.key) headers["x-api-key"] = request.key;
  const body = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const response = await fetch(`${url}${path}`, { method: request.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** One POST of a JSON body, `content-type: application/json` even when there is none. */
export const post = <T = any>(url: string, path: string, body: unknown, call: RestCall = {}): Promise<RestResponse<T>> =>
  rest<T>(url, path, { ...call, method: "POST", body, headers: { "content-type": "application/json", ...call.headers } });

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

/** The record the last `executed` event of the base names: which record a run actually ran. */
export async function lastExecutedRecord(gateway: TestGateway, baseId: string) {
  const event = await gateway.database.prisma.auditEvent.findFirst({
    where: { baseId, action: "EXECUTED" },
    orderBy: { sequence: "desc" },
  });
  return event;
}

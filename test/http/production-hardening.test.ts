import { afterAll, beforeAll, expect, it } from "vitest";
import { graphql, startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ NODE_ENV: "production" });
});
afterAll(() => gateway?.stop());

it("turns introspection off in production", async () => {
  const response = await graphql(gateway.url, "{ __schema { types { name } } }");
  expect(response.errors?.[0]?.message).toMatch(/introspection/i);
});

it("does not suggest field names in production", async () => {
  const response = await graphql(gateway.url, "{ versio { gateway } }");
  expect(response.errors?.[0]?.message).toMatch(/Cannot query field/);
  expect(response.errors?.[0]?.message).not.toMatch(/Did you mean/);
});

it("serves no GraphiQL page in production", async () => {
  const response = await fetch(`${gateway.url}/graphql`, { headers: { accept: "text/html" } });
  expect(await response.text()).not.toContain("GraphiQL");
});

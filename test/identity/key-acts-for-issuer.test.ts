import { afterAll, beforeAll, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { type Document, errorCodes, graphql, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

/**
 * Issue #12.11 (product.md §4): a key acts for the user who issued it, so a base it creates is that user's, never
 * an orphan; admins list others' never-published bases only when they ask for them.
 */
let gateway: TestGateway;
let tenant: TestTenant;
const headersOf: Record<string, Record<string, string>> = {};

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secretShownOnce apiKey { createdById } } }`;
const LIST = `query($filter: BaseFilter) { bases(first: 50, filter: $filter) { edges { node { id } } } }`;

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { ada: ["ADMIN"], bob: ["ADMIN"], pat: ["PUBLISHER"] });
  for (const name of ["ada", "bob", "pat"]) headersOf[name] = { authorization: `Bearer ${await gateway.tokenFor(tenant.users[name]!.subject)}` };
  for (const issuer of ["ada", "bob"]) {
    const issued = await graphql(gateway.url, CREATE_KEY, { input: { name: `${issuer}'s edit key`, scopes: ["EDIT"] } }, headersOf[issuer]);
    expect(issued.data.createApiKey.apiKey.createdById).toBe(tenant.users[issuer]!.id);
    headersOf[`${issuer}Key`] = { "x-api-key": issued.data.createApiKey.secretShownOnce };
  }
});
afterAll(() => gateway?.stop());

const as = (who: string, query: Document, variables: Record<string, unknown> = {}) => graphqlClient(gateway)(headersOf[who]!, query, variables);
const listed = async (who: string, filter: Record<string, unknown> = {}) =>
  ((await as(who, LIST, { filter })).data?.bases.edges ?? []).map((e: { node: { id: string } }) => e.node.id);

it("a base created with a key is owned by the key's issuer, who (and whose key) can edit and list it", async () => {
  const created = await as("adaKey", op.CREATE_POLICY, { input: { name: "made by a key", content: op.AGE_POLICY } });
  expect(created.errors).toBeUndefined();
  const draft = created.data.createPolicy;
  const base = await as("ada", op.BASE, { id: draft.base.id });
  expect(base.data.base).toMatchObject({ ownership: "USER_OWNED", owner: { id: tenant.users.ada!.id }, createdBy: { id: tenant.users.ada!.id } });

  // The EDIT key edits it as its issuer's (it holds no admin override of its own)…
  const edited = await as("adaKey", op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: draft.revision, content: op.ADULT_POLICY } });
  expect(edited.errors).toBeUndefined();
  // …and another user's EDIT key cannot.
  const foreignEdit = await as("bobKey", op.UPDATE_DRAFT, { input: { draftId: draft.id, expectedRevision: draft.revision + 1, content: op.AGE_POLICY } });
  expect(errorCodes(foreignEdit)).toEqual(["FORBIDDEN"]);

  expect(await listed("adaKey")).toContain(draft.base.id);
  expect(await listed("ada")).toContain(draft.base.id);
  expect(await listed("bobKey")).not.toContain(draft.base.id);
  expect(await listed("pat")).not.toContain(draft.base.id);
});

it("admins list others' never-published bases only with allOwners; nobody else may ask", async () => {
  const created = await as("pat", op.CREATE_POLICY, { input: { name: "pat's draft", content: op.AGE_POLICY } });
  const baseId = created.data.createPolicy.base.id;

  expect(await listed("bob")).not.toContain(baseId);
  expect(await listed("bob", { allOwners: false })).not.toContain(baseId);
  expect(await listed("bob", { allOwners: true })).toContain(baseId);

  for (const who of ["pat", "adaKey"]) {
    const refused = await as(who, LIST, { filter: { allOwners: true } });
    expect(errorCodes(refused), who).toEqual(["FORBIDDEN"]);
  }
});

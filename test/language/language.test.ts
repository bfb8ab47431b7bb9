import { afterAll, beforeAll, expect, it } from "vitest";
import { createTenant } from "../support/fixtures.js";
import { errorCodes, graphql, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;
let as: GraphQLClient["as"];
beforeAll(async () => {
  gateway = await startTestGateway();
  as = graphqlClient(gateway, await createTenant(gateway.database.prisma, { vic: ["VIEWER"] })).as;
});
afterAll(() => gateway?.stop());

it("validates a rule text, pointing at the line and column of a parse error", async () => {
  const good = await as("vic")(`{ validateRule(rule: "A **u** is ok if __a__ of **u** is equal to 1.") { ok message line column } }`);
  expect(good.data.validateRule).toEqual({ ok: true, message: null, line: null, column: null });
  const bad = await as("vic")(`query($rule: String!) { validateRule(rule: $rule) { ok message line column } }`, { rule: "A **user** passes if." });
  expect(bad.data.validateRule).toMatchObject({ ok: false, line: 1, column: 19 });
  expect(bad.data.validateRule.message).toMatch(/^Parse error: --> 1:19 /);
});

it("explains a rule's structure and lists every operator with its phrasings", async () => {
  const rule = `ageCheck. A **user** passes the age check if __age__ of **user** is at least 18.\nA **user** is eligible if §ageCheck passes.`;
  const explained = (await as("vic")(`query($rule: String!) { explainRule(rule: $rule) { validation { ok } structure } }`, { rule })).data.explainRule;
  expect(explained.validation.ok).toBe(true);
  expect(explained.structure.ruleCount).toBe(2);
  expect(explained.structure.referencedLabels).toEqual(["ageCheck"]);

  const operators = (await as("vic")(`{ languageOperators { name phrases shorthand } }`)).data.languageOperators;
  const greaterOrEqual = operators.find((o: { name: string }) => o.name === "GreaterThanOrEqual");
  expect(greaterOrEqual.phrases).toEqual(expect.arrayContaining(["is greater than or equal to", "is at least"]));
  expect(greaterOrEqual.shorthand).toContain(">=");
  expect(errorCodes(await graphql(gateway.url, `{ languageOperators { name } }`))).toEqual(["UNAUTHENTICATED"]);
});

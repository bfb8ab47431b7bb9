/** Export and import of bundles (issue #16 point 6), through the real HTTP server. */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { errorCodes, type GraphQLClient, graphqlClient, startTestGateway, type TestGateway } from "../support/gateway.js";
import * as op from "../support/operations.js";

let gateway: TestGateway;
let A: TestTenant;
let B: TestTenant;
let as: GraphQLClient["as"];

const EXPORT = `query($id: ID!, $v: Int) { exportBase(id: $id, version: $v) }`;
const IMPORT = `mutation($b: JSONObject!, $m: [BundleMappingInput!], $dry: Boolean) { importBundle(bundle: $b, mapping: $m, dryRun: $dry) {
  dryRun records { key name kind action matchedBy baseId draftId rewrittenReferences } } }`;
const INCOME = `A **Person** gets approved if __income__ of **Person** is at least 3000.`;
const flowText = (first: string, second: string) => `# checks age, then income
flow:
  start:
    - id: age
      type: start
      policyId: ${first}
      onTrue:
        - id: income
          type: policy
          policyId: ${second}
          onTrue:
            - id: ok
              type: return
              returnValue: approved
          onFalse:
            - id: poor
              type: return
              returnValue: declined-income
      onFalse:
        - id: young
          type: return
          returnValue: declined-age
`;

/** Re-seals a record the way an honest exporter would (to build bundles that differ only where a test says). */
const seal = (record: Record<string, unknown>) => {
  const { sha256: _old, ...rest } = record;
  return { ...rest, sha256: createHash("sha256").update(canonicalize(rest)!).digest("hex") };
};
const count = async (tenantId: string) => gateway.database.prisma.base.count({ where: { tenantId } });

let flowBaseId: string;
let ageBaseId: string;
let bundle: any;

beforeAll(async () => {
  gateway = await startTestGateway();
  A = await createTenant(gateway.database.prisma, { adminA: ["ADMIN"] });
  B = await createTenant(gateway.database.prisma, { adminB: ["ADMIN"], viewerB: ["VIEWER"] });
  as = graphqlClient(gateway, A, B).as;
  const age = (
    await as("adminA")(op.CREATE_POLICY, {
      input: {
        name: "Age",
        content: op.AGE_POLICY,
        inputSchema: { type: "object" },
        tests: [{ name: "adult", data: { Person: { age: 30 } }, expected: true }],
      },
    })
  ).data.createPolicy;
  await as("adminA")(op.PUBLISH, { input: { draftId: age.id, description: "v1" } });
  ageBaseId = age.base.id;
  await as("adminA")(`mutation { setBaseAlias(baseId: "${ageBaseId}", alias: "age-check") { id } }`);
  await as("adminA")(`mutation { addBaseTags(baseId: "${ageBaseId}", tags: ["kyc", "retail"]) { id } }`);
  await as("adminA")(`mutation { setBaseRiskLevel(baseId: "${ageBaseId}", riskLevel: HIGH) { id } }`);
  const income = (await as("adminA")(op.CREATE_POLICY, { input: { name: "Income", content: INCOME } })).data.createPolicy;
  const incomeV1 = (await as("adminA")(op.PUBLISH, { input: { draftId: income.id, description: "v1" } })).data.publishDraft;
  const flow = (await as("adminA")(op.CREATE_FLOW, { input: { name: "Loan", content: flowText("age-check", incomeV1.id) } })).data.createFlow;
  await as("adminA")(op.PUBLISH, { input: { draftId: flow.id, description: "v1" } });
  flowBaseId = flow.base.id;
  bundle = (await as("adminA")(EXPORT, { id: flowBaseId })).data.exportBase;
});
afterAll(() => gateway?.stop());

it("exports a flow with every policy it uses, each record sealed by a SHA-256 of its canonical content", () => {
  expect(bundle).toMatchObject({ format: "verdict-bundle", formatVersion: 1, root: expect.any(String) });
  expect(bundle.records.map((r: any) => `${r.kind}:${r.name}:${r.versionNumber}`)).toEqual(["FLOW:Loan:1", "POLICY:Age:1", "POLICY:Income:1"]);
  const [flow, age] = bundle.records;
  expect(age).toMatchObject({
    alias: "age-check",
    tags: ["kyc", "retail"],
    riskLevel: "HIGH",
    inputSchema: { type: "object" },
    tests: [{ name: "adult", expected: true }],
  });
  expect(Object.values(flow.references).sort()).toEqual([bundle.records[1].key, bundle.records[2].key].sort());
  for (const record of bundle.records) expect(seal(record).sha256).toBe(record.sha256);
});

it("round trip: imported into another tenant, the flow gives the same answers on 100 inputs", async () => {
  const before = await count(B.id);
  const dry = (await as("adminB")(IMPORT, { b: bundle, dry: true })).data.importBundle;
  expect(dry.dryRun).toBe(true);
  expect(dry.records.map((r: any) => [r.name, r.action, r.baseId])).toEqual([
    ["Age", "CREATE_BASE", null],
    ["Income", "CREATE_BASE", null],
    ["Loan", "CREATE_BASE", null],
  ]);
  expect(await count(B.id)).toBe(before);

  const report = (await as("adminB")(IMPORT, { b: bundle })).data.importBundle;
  expect(report.records.map((r: any) => [r.name, r.action, r.rewrittenReferences])).toEqual([
    ["Age", "CREATE_BASE", 0],
    ["Income", "CREATE_BASE", 0],
    ["Loan", "CREATE_BASE", 2],
  ]);
  const imported = Object.fromEntries(report.records.map((r: any) => [r.name, r.baseId]));
  const loanB = (await as("viewerB")(`query($id: ID!) { base(id: $id) { draft { content } uses { missing base { id } } } }`, { id: imported.Loan })).data.base;
  expect(loanB.draft.content).toContain("# checks age, then income"); // the YAML is rewritten in place
  expect(loanB.uses.map((u: any) => u.base.id).sort()).toEqual([imported.Age, imported.Income].sort());
  const ageB = (await as("viewerB")(`{ base(id: "age-check") { id tags riskLevel draft { tests { name } inputSchema } } }`)).data.base;
  expect(ageB).toEqual({
    id: imported.Age,
    tags: ["kyc", "retail"],
    riskLevel: "HIGH",
    draft: { tests: [{ name: "adult" }], inputSchema: { type: "object" } },
  });

  const inputs = Array.from({ length: 100 }, (_, i) => ({ Person: { age: (i * 7) % 40, income: (i * 523) % 6000 } }));
  const run = async (user: string, baseId: string) =>
    Promise.all(inputs.map(async (data) => (await as(user)(op.RUN_FLOW, { baseId, data })).data.runFlow.result));
  const answersA = await run("adminA", flowBaseId);
  const answersB = await run("viewerB", imported.Loan);
  expect(answersB).toEqual(answersA);
  expect(new Set(answersA)).toEqual(new Set(["approved", "declined-income", "declined-age"]));
}, 60_000);

it("imports as new drafts of existing bases matched by mapping, alias or ID, and all or nothing", async () => {
  // Into the source tenant itself: every record matches its own base (alias for Age, ID for the others).
  const same = (await as("adminA")(IMPORT, { b: bundle, dry: true })).data.importBundle.records;
  expect(same.map((r: any) => [r.name, r.action, r.matchedBy])).toEqual([
    ["Age", "NEW_DRAFT", "ALIAS"],
    ["Income", "NEW_DRAFT", "ID"],
    ["Loan", "NEW_DRAFT", "ID"],
  ]);
  // An explicit mapping sends the Income record to another base.
  const other = (await as("adminA")(op.CREATE_POLICY, { input: { name: "Other income", content: INCOME } })).data.createPolicy;
  await as("adminA")(op.PUBLISH, { input: { draftId: other.id, description: "v1" } });
  const incomeKey = bundle.records[2].key;
  const mapped = (await as("adminA")(IMPORT, { b: bundle, m: [{ source: incomeKey, target: other.base.id }] })).data.importBundle.records;
  expect(mapped[1]).toMatchObject({ name: "Income", action: "NEW_DRAFT", matchedBy: "MAPPING", baseId: other.base.id });
  const loanDraft = (await as("adminA")(`query($id: ID!) { base(id: $id) { draft { content } } }`, { id: flowBaseId })).data.base.draft.content;
  expect(loanDraft).toContain(`policyId: ${other.base.id}`);
  expect(loanDraft).toContain(`policyId: ${ageBaseId}`);
  // Again: every base now has a draft, so the import is refused as a whole, naming the base.
  const events = await gateway.database.prisma.auditEvent.count({ where: { tenantId: A.id } });
  const refused = await as("adminA")(IMPORT, { b: bundle });
  expect(errorCodes(refused)).toEqual(["CONFLICT"]);
  expect(refused.errors![0]!.message).toContain("already has a draft");
  expect(await gateway.database.prisma.auditEvent.count({ where: { tenantId: A.id } })).toBe(events);
});

it("refuses a tampered record, an unknown format version, a cycle, and an oversized bundle, importing nothing", async () => {
  const before = await count(B.id);
  const expectRefused = async (b: unknown, code: string, message: RegExp) => {
    const response = await as("adminB")(IMPORT, { b });
    expect(errorCodes(response)).toEqual([code]);
    expect(response.errors![0]!.message).toMatch(message);
  };
  const tampered = structuredClone(bundle);
  tampered.records[1].content = tampered.records[1].content.replace("18", "81");
  await expectRefused(tampered, "BAD_USER_INPUT", /does not match its sha256/);
  await expectRefused({ ...bundle, formatVersion: 2 }, "BAD_USER_INPUT", /format version 2 is newer/);
  await expectRefused({ ...bundle, format: "something-else" }, "BAD_USER_INPUT", /is not a verdict-bundle/);
  const looped = structuredClone(bundle);
  const [flow, , income] = looped.records;
  const second = { ...flow, key: "second-flow", references: { x: flow.key } };
  looped.records = [seal({ ...flow, references: { ...flow.references, y: "second-flow" } }), seal(second), income, looped.records[1]];
  await expectRefused(looped, "BAD_USER_INPUT", /cycle/);
  const huge = { ...bundle, records: Array.from({ length: 201 }, (_, i) => seal({ ...bundle.records[1], key: `k${i}` })) };
  await expectRefused(huge, "BAD_USER_INPUT", /at most 200/);
  expect(await count(B.id)).toBe(before);
});

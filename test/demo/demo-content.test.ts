import "reflect-metadata";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { drivingTestExample } from "../../src/demo/demo-content.js";
import { createTenant, type TestTenant } from "../support/fixtures.js";
import { type GraphQLClient, graphqlClient, startTestGateway, TEST_JWT_SECRET, type TestGateway } from "../support/gateway.js";

let gateway: TestGateway;
let tenant: TestTenant;
let as: GraphQLClient["as"];

beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], auditor: ["AUDITOR"], viewer: ["VIEWER"] });
  as = graphqlClient(gateway, tenant).as;
});
afterAll(() => gateway?.stop());

async function cli(args: string[]) {
  let out = "";
  let err = "";
  const env = { DATABASE_URL: gateway.db.url, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" };
  const code = await runCli(args, { env, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

it("`demo content` fills any tenant with content every GraphiQL query answers from, through the audited services", async () => {
  const added = await cli(["demo", "content", "--tenant", tenant.slug, "--json"]);
  expect(added.err).toBe("");
  expect(added.code).toBe(0);
  const content = JSON.parse(added.out);

  const listed = await as("viewer")(`{
    bases(first: 20) { totalCount edges { node { name kind ownership latestVersion { versionNumber description } draft { id } groups { name } } } }
    groups { totalCount edges { node { name policies { totalCount } flows { totalCount } } } }
  }`);
  expect(listed.errors).toBeUndefined();
  const bases = Object.fromEntries(listed.data.bases.edges.map((e: any) => [e.node.name, e.node]));
  // The never-published "Free shipping" belongs to the user who made it: a viewer does not list it.
  expect(Object.keys(bases).sort()).toEqual(["Adult applicant", "Credit score", "Driving licence", "Loan application"]);
  expect(bases["Adult applicant"].latestVersion).toEqual({ versionNumber: 2, description: "Applicants must be between 18 and 75" });
  expect(bases["Credit score"].draft).not.toBeNull();
  expect(bases["Loan application"].kind).toBe("FLOW");
  expect(bases["Driving licence"].groups).toEqual([{ name: "Licensing" }]);
  const groups = Object.fromEntries(listed.data.groups.edges.map((e: any) => [e.node.name, e.node]));
  expect(groups.Lending).toEqual({ name: "Lending", policies: { totalCount: 2 }, flows: { totalCount: 1 } });

  // Every stored test of every demo record passes, the driving test among them.
  const records = await as("viewer")(
    `{ a: records(baseId: "${content.drivingLicenceId}") { id tests { name } } b: records(baseId: "${content.loanApplicationId}") { id tests { name } } }`,
  );
  for (const record of [...records.data.a, ...records.data.b]) {
    const report = await as("viewer")(`mutation ($id: ID!) { runStoredTests(recordId: $id) { passed failed outcomes { name passed error } } }`, {
      id: record.id,
    });
    expect(report.errors).toBeUndefined();
    expect(report.data.runStoredTests.outcomes.filter((o: any) => !o.passed)).toEqual([]);
    expect(report.data.runStoredTests.passed).toBe(record.tests.length);
  }
  const tooYoung = drivingTestExample(new Date(), { dateOfBirth: "2012-01-01" });
  const run = await as("viewer")(`mutation ($id: ID!, $data: JSONObject!) { runPolicy(baseId: $id, data: $data) { result error trace } }`, {
    id: content.drivingLicenceId,
    data: tooYoung,
  });
  expect(run.errors).toBeUndefined();
  expect(run.data.runPolicy).toMatchObject({ result: false, error: null });
  expect(run.data.runPolicy.trace).toBeTruthy();

  // Created as the tenant's first admin, so the audit log names that user.
  const audit = await as("auditor")(`{ auditEvents(first: 100) { edges { node { action actorId } } } verifyAuditChain { valid } }`);
  const actions = audit.data.auditEvents.edges.map((e: any) => e.node.action);
  for (const action of ["CREATED", "EDITED", "PUBLISHED", "DRAFTED", "EXECUTED"]) expect(actions).toContain(action);
  const changes = audit.data.auditEvents.edges.filter((e: any) => e.node.action !== "EXECUTED");
  expect(new Set(changes.map((e: any) => e.node.actorId))).toEqual(new Set([tenant.users.admin!.id]));
  expect(audit.data.verifyAuditChain.valid).toBe(true);

  // Twice is refused, and nothing is duplicated.
  const again = await cli(["demo", "content", "--tenant", tenant.slug]);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/CONFLICT.*demo content/);
  expect((await as("viewer")(`{ bases { totalCount } }`)).data.bases.totalCount).toBe(4);
});

it("`demo content --as` refuses a user who cannot publish", async () => {
  const other = await createTenant(gateway.database.prisma, { admin: ["ADMIN"], viewer: ["VIEWER"] });
  const refused = await cli(["demo", "content", "--tenant", other.slug, "--as", `viewer@${other.slug}.test`]);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/FORBIDDEN/);
  expect(await gateway.database.prisma.base.count({ where: { tenantId: other.id } })).toBe(0);
});

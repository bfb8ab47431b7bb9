/**
 * The test kit: import everything a test needs to set up and talk to a gateway from here.
 *
 * - a gateway: `startTestGateway`, `startGatewayBehindProxy`, `createTestDatabase`;
 * - fixtures, rows written straight to the database: `fixtures(prisma).tenant() / .key(t) / .base(t) / .group(t)`
 *   (fluent; `createTenant` / `createApiKey` are shorthands);
 * - bases made through the API as their authors would: `authoring(gql, "pat")`;
 * - one GraphQL helper, `graphqlClient(gateway, ...tenants)`: `gql("pat" | { key } | { token } | headers | null,
 *   document, variables)`, typed when the document is one of `operations/` (`op.*`, or the codegen output
 *   `operations/__generated__/graphql.js`);
 * - one REST helper, `rest(url, path, { method, body, key, headers })` and its shorthand `post`;
 * - the parity world the GraphQL / REST / gRPC parity tests share: `startParityWorld`; the execution tests' gateway,
 *   publisher and VIEW key: `startRunWorld`;
 * - subscriptions over WebSocket (`subscriptionClient`, `subscribe`), the TCP proxy that simulates database outages;
 * - policy texts and data the tests share.
 */
export { type AuthoredBase, type Authoring, authoring, deleteBase } from "./authoring.js";
export { AUDIT_FAILURE_MARKER, asSuperuser, installAuditFailureTrigger } from "./superuser.js";
export { policyBundle } from "./bundles.js";
export { DRIVING_TEST_POLICY, drivingTestData } from "./driving-test.js";
export {
  BaseBuilder,
  createApiKey,
  createTenant,
  type Fixtures,
  fixtures,
  GroupBuilder,
  KeyBuilder,
  type TestBase,
  type TestTenant,
  type TestUser,
  TenantBuilder,
} from "./fixtures.js";
export { CREDIT_POLICY, loanFlow } from "./flows.js";
export { type RunWorld, startRunWorld } from "./run-world.js";
export {
  type Caller,
  type Document,
  errorCodes,
  type GraphQLClient,
  type GraphQLResponse,
  graphql,
  graphqlClient,
  type ProxiedGateway,
  startGatewayBehindProxy,
  startTestGateway,
  TEST_JWT_SECRET,
  type TestGateway,
} from "./gateway.js";
export * as op from "./operations.js";
export { type ParityWorld, type StoredRun, startParityWorld } from "./parity.js";
export { createTestDatabase, type TestDatabase } from "./postgres.js";
export { type Received, subscribe, subscriptionClient } from "./subscriptions.js";
export { POSTGRES_OUTAGE_ERRORS, type PostgresOutageError, TcpProxy } from "./tcp-proxy.js";
export {
  expectNanos,
  expectPolicyExecution,
  lastExecutedRecord,
  post,
  type RestCall,
  type RestRequest,
  type RestResponse,
  rest,
  SDK_USER_AGENTS,
} from "./rest.js";

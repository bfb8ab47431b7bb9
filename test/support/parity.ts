import {
  ParityRunFlowDocument,
  ParityRunFlowRecordDocument,
  ParityRunPolicyDocument,
  ParityRunPolicyRecordDocument,
} from "../../operations/__generated__/graphql.js";
import type { Config } from "../../src/config.js";
import { type Authoring, authoring, deleteBase } from "./authoring.js";
import { fixtures, type TestTenant } from "./fixtures.js";
import { type Document, type GraphQLClient, type GraphQLResponse, graphqlClient, startTestGateway, type TestGateway } from "./gateway.js";
import { post, type RestResponse } from "./rest.js";

/** A stored policy or flow run by its base or by one of its records, with an API key. */
export interface StoredRun {
  kind: "policy" | "flow";
  by: "base" | "record";
  id: string;
  data: Record<string, unknown>;
  key: string;
}

/** The answer of every run operation is selected as `out` (operations/execution.graphql, `Parity…`). */
const GRAPHQL: Record<StoredRun["kind"], Record<StoredRun["by"], Document>> = {
  policy: { base: ParityRunPolicyDocument, record: ParityRunPolicyRecordDocument },
  flow: { base: ParityRunFlowDocument, record: ParityRunFlowRecordDocument },
};
const REST_PATH: Record<StoredRun["kind"], Record<StoredRun["by"], string>> = {
  policy: { base: "/run/policy/", record: "/run/policy_version/" },
  flow: { base: "/run/flow/", record: "/run/flow_version/" },
};

/**
 * The stored-resource world the parity tests (GraphQL ↔ REST, and gRPC ↔ both) run in: a gateway, a tenant with
 * a publisher who authors through GraphQL and an admin, a second tenant, and API keys of every kind of refusal.
 */
export interface ParityWorld {
  gateway: TestGateway;
  tenant: TestTenant;
  other: TestTenant;
  gql: GraphQLClient;
  /** The publisher, authoring through GraphQL. */
  author: Authoring;
  keys: { view: string; audit: string; revoked: string; expired: string; foreign: string };
  /** The same stored run over GraphQL (answer in `data.out`) and over REST. */
  runStored(run: StoredRun): Promise<{ gql: GraphQLResponse; rest: RestResponse }>;
  /** Deletes a base as the tenant's admin. */
  deleteBase(id: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startParityWorld(overrides: Partial<Record<keyof Config, string>> = {}): Promise<ParityWorld> {
  const gateway = await startTestGateway(overrides);
  const make = fixtures(gateway.database.prisma);
  const tenant = await make.tenant().user("publisher", "PUBLISHER").user("admin", "ADMIN").create();
  const other = await make.tenant().user("stranger", "ADMIN").create();
  const gql = graphqlClient(gateway, tenant, other);
  const keys = {
    view: (await make.key(tenant).scopes("VIEW").create()).key,
    audit: (await make.key(tenant).scopes("AUDIT").create()).key,
    revoked: (await make.key(tenant).scopes("VIEW").revoked().create()).key,
    expired: (await make.key(tenant).scopes("VIEW").expired().create()).key,
    foreign: (await make.key(other).scopes("VIEW").create()).key,
  };
  return {
    gateway,
    tenant,
    other,
    gql,
    author: authoring(gql, "publisher"),
    keys,
    async runStored({ kind, by, id, data, key }) {
      const graphqlAnswer = await gql({ key }, GRAPHQL[kind][by], { id, data });
      const restAnswer = await post(gateway.url, `${REST_PATH[kind][by]}${id}`, { data }, { key });
      return { gql: graphqlAnswer, rest: restAnswer };
    },
    deleteBase: (id) => deleteBase(gql, "admin", id),
    stop: () => gateway.stop(),
  };
}

import type { Config } from "../../src/config.js";
import type { Gateway } from "../../src/gateway.js";
import { issueApiKey } from "../../src/identity/api-key-format.js";
import { DRIVING_TEST_POLICY } from "../../test/support/driving-test.js";
import { benchUser } from "./config.js";
import { gql } from "./graphql.js";

export interface DrivingTestTenant {
  tenantId: string;
  /** A PUBLISHER's bearer token. */
  token: string;
  /** A VIEW-scoped API key. */
  key: string;
  /** The published driving-test policy's base. */
  baseId: string;
  /** Creates and publishes another policy (or flow) through GraphQL; its base ID. */
  publish(name: string, content: string, kind?: "POLICY" | "FLOW"): Promise<string>;
}

/** A fresh tenant with a publisher, a VIEW key and the six-rule driving-test policy published (docs/language.md#a-complete-example). */
export async function setUpDrivingTest(gateway: Gateway, config: Config): Promise<DrivingTestTenant> {
  const { prisma } = gateway.database;
  const { tenantId, token } = await benchUser(gateway, config, "PUBLISHER");
  const issued = issueApiKey(tenantId);
  await prisma.apiKey.create({ data: { tenantId, name: "bench", prefix: issued.prefix, secretHash: issued.secretHash, scopes: ["VIEW"] } });
  const publish = async (name: string, content: string, kind: "POLICY" | "FLOW" = "POLICY"): Promise<string> => {
    const create = kind === "POLICY" ? "createPolicy" : "createFlow";
    const created = await gql(gateway.url, token, `mutation($input: CreateResourceInput!) { ${create}(input: $input) { id base { id } } }`, {
      input: { name, content },
    });
    await gql(gateway.url, token, `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { id } }`, {
      input: { draftId: created[create].id, description: "benchmark" },
    });
    return created[create].base.id;
  };
  const baseId = await publish("driving test", DRIVING_TEST_POLICY);
  return { tenantId, token, key: issued.key, baseId, publish };
}

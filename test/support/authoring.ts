import { expect } from "vitest";
import {
  CreateDraftFromVersionDocument,
  CreateFlowDocument,
  CreatePolicyDocument,
  DeleteBaseDocument,
  PublishDraftDocument,
  UpdateDraftDocument,
} from "../../operations/__generated__/graphql.js";
import { type Caller, type GraphQLClient, graphqlClient, type TestGateway } from "./gateway.js";

export interface AuthoredBase {
  baseId: string;
  /** What runs: the version when published, else the draft. */
  recordId: string;
  draftId: string | null;
}

/**
 * Policies and flows created through GraphQL, as their authors would (audited, compiled, numbered by the
 * lifecycle) — for tests whose subject is what happens to such bases. `fixtures(prisma).base(…)` writes rows
 * directly instead, where the lifecycle is not under test.
 */
export function authoring(client: GraphQLClient, author: Caller): Authoring;
/** The same for the user whose bearer token this is. */
export function authoring(gateway: TestGateway, token: string): Authoring;
export function authoring(clientOrGateway: GraphQLClient | TestGateway, author: Caller): Authoring {
  const client = typeof clientOrGateway === "function" ? clientOrGateway : graphqlClient(clientOrGateway);
  const who: Caller = typeof clientOrGateway === "function" ? author : { token: author as string };
  const as = client.as(who);
  async function create(kind: "policy" | "flow", content: string, publish: boolean): Promise<AuthoredBase> {
    const input = { name: `${kind}-${Math.random().toString(36).slice(2)}`, content };
    const created = kind === "policy" ? await as(CreatePolicyDocument, { input }) : await as(CreateFlowDocument, { input });
    expect(created.errors).toBeUndefined();
    const draft = kind === "policy" ? (created.data as any).createPolicy : (created.data as any).createFlow;
    if (!publish) return { baseId: draft.base.id, recordId: draft.id, draftId: draft.id };
    const version = await as(PublishDraftDocument, { input: { draftId: draft.id, description: "v" } });
    expect(version.errors).toBeUndefined();
    return { baseId: draft.base.id, recordId: version.data!.publishDraft.id, draftId: null };
  }
  return {
    policy: (content, publish = true) => create("policy", content, publish),
    flow: (content, publish = true) => create("flow", content, publish),
    async newDraft(versionId, content) {
      const draft = (await as(CreateDraftFromVersionDocument, { versionId })).data!.createDraftFromVersion;
      const updated = await as(UpdateDraftDocument, { input: { draftId: draft.id, expectedRevision: draft.revision, content } });
      expect(updated.errors).toBeUndefined();
      return draft.id;
    },
  };
}

export interface Authoring {
  /** A policy with this rule text, published as version 1 unless `publish` is false. */
  policy(content: string, publish?: boolean): Promise<AuthoredBase>;
  flow(content: string, publish?: boolean): Promise<AuthoredBase>;
  /** A draft made from a version and edited to `content`; its ID. */
  newDraft(versionId: string, content: string): Promise<string>;
}

/** Deletes a base through GraphQL as `who` (an admin), expecting no error. */
export async function deleteBase(client: GraphQLClient, who: Caller, id: string): Promise<void> {
  const response = await client(who, DeleteBaseDocument, { id });
  expect(response.errors).toBeUndefined();
}

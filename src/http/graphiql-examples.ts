/**
 * The tabs GraphiQL opens with: documented operations that walk through the product on the demo content
 * (src/demo/demo-content.ts). IDs the operations need come from the demo tenant when it exists, else the
 * variables say where to find one.
 */

export interface ExampleIds {
  /** The "Driving licence" policy base of the demo tenant. */
  drivingLicenceId: string;
  /** The draft of "Credit score" waiting to be published, and its revision. */
  pendingDraftId: string | null;
  pendingDraftRevision: number | null;
}

export interface ExampleTab {
  query: string;
  variables: string;
}

const LIST_POLICIES = `# Welcome to Verdict. Each tab is a documented example; run it with the ▶ button (Ctrl+Enter).
# Requests act as whoever the Headers tab (below) names. Opening the URL printed at start-up fills in a demo
# user's token; otherwise paste one of the printed {"Authorization": "Bearer …"} lines there.
#
# This tab lists the policies you may see, with their latest version, any pending draft and their groups.
query ListPolicies {
  bases(filter: { kind: POLICY }, first: 20) {
    totalCount
    edges {
      node {
        id
        name
        ownership            # USER_OWNED until first published, then ORGANISATION_OWNED
        latestVersion { versionNumber description createdAt }
        draft { id revision description }
        groups { name }
      }
    }
  }
}
`;

const RUN_WITH_TRACE = `# Runs a stored policy by its base ID (its latest version, else its draft) and returns why it decided what it
# decided: \`trace\` follows every rule and condition, \`rule\` names the golden rule, \`record\` says which
# version ran. Change the data in the Variables tab (below) and run again. Every run is audited.
mutation RunDrivingLicence($baseId: ID!, $data: JSONObject!) {
  runPolicy(baseId: $baseId, data: $data) {
    result
    rule
    error
    trace
    record { versionNumber status }
    timings { engineNs }
  }
}
`;

const PUBLISH_DRAFT = `# Publishes a draft as the next immutable version (publishers and admins). The demo's "Credit score" policy
# has a pending draft raising its minimum score; an editor proposed it, a publisher publishes it. Publishing
# the same draft twice fails with CONFLICT. Afterwards, ListPolicies shows version 2 and no draft.
mutation PublishCreditScoreDraft($draftId: ID!, $expectedRevision: Int) {
  publishDraft(input: { draftId: $draftId, description: "Raise the minimum score to 650", expectedRevision: $expectedRevision }) {
    id
    versionNumber
    description
    base { name latestVersion { versionNumber } }
  }
}
`;

const AUDIT_LOG = `# The tenant's hash-chained audit log, newest first (admins and auditors: use the ADMIN or AUDITOR token).
# Every change and every run of a stored policy is here; verifyAuditChain recomputes the chain.
query AuditLog {
  auditEvents(first: 20) {
    totalCount
    edges {
      node { sequence occurredAt actorType action resourceKind baseId version detail }
    }
  }
  verifyAuditChain { valid checkedEvents }
}
`;

const WATCH_BASE = `# Live updates over WebSocket (graphql-ws on the same port; the credential goes in connectionParams): run this, then
# change the policy (another tab, browser or gateway process). Each change arrives as it commits. Stop it with ■.
subscription WatchPolicy($baseId: ID!) {
  baseChanged(baseId: $baseId) { change version recordId occurredAt }
}
`;

const WHO_AM_I = `# Who the Headers tab makes you: your tenant, roles, or API-key scopes.
query Me {
  viewer {
    credential
    tenant { name }
    user { email roles }
    scopes
  }
}
`;

/** Data the driving test (docs/language.md#a-complete-example) passes with (test dates relative to today, as the policy wants recent tests). */
function drivingTestData(today: Date) {
  const daysBefore = (days: number) => new Date(today.getTime() - days * 86_400_000).toISOString().slice(0, 10);
  return {
    drivingTest: {
      person: { dateOfBirth: "1990-01-01" },
      scores: { theory: { multipleChoice: 45, hazardPerception: 75 }, practical: { major: false, minor: 13 } },
      testDates: { theory: daysBefore(200), practical: daysBefore(5) },
    },
  };
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);

export function exampleTabs(ids: ExampleIds | null, today = new Date()): ExampleTab[] {
  const missing = "<an ID from the ListPolicies tab>";
  return [
    { query: LIST_POLICIES, variables: "{}" },
    { query: RUN_WITH_TRACE, variables: json({ baseId: ids?.drivingLicenceId ?? missing, data: drivingTestData(today) }) },
    {
      query: PUBLISH_DRAFT,
      variables: json({ draftId: ids?.pendingDraftId ?? "<a draft ID from the ListPolicies tab>", expectedRevision: ids?.pendingDraftRevision ?? null }),
    },
    { query: AUDIT_LOG, variables: "{}" },
    { query: WATCH_BASE, variables: json({ baseId: ids?.drivingLicenceId ?? missing }) },
    { query: WHO_AM_I, variables: "{}" },
  ];
}

/** Operation names of the example tabs, in order (the browser test looks for them). */
export const EXAMPLE_OPERATION_NAMES = ["ListPolicies", "RunDrivingLicence", "PublishCreditScoreDraft", "AuditLog", "WatchPolicy", "Me"] as const;

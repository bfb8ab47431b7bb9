/** GraphQL documents the lifecycle tests share. */
export const RECORD_FIELDS = `id status versionNumber content description inputSchema tests { name data expected } createdAt base { id kind name ownership }`;

export const CREATE_POLICY = `mutation($input: CreateResourceInput!) { createPolicy(input: $input) { ${RECORD_FIELDS} revision } }`;
export const CREATE_FLOW = `mutation($input: CreateResourceInput!) { createFlow(input: $input) { ${RECORD_FIELDS} revision } }`;
export const UPDATE_DRAFT = `mutation($input: UpdateDraftInput!) { updateDraft(input: $input) { ${RECORD_FIELDS} revision updatedAt } }`;
export const PUBLISH = `mutation($input: PublishDraftInput!) { publishDraft(input: $input) { ${RECORD_FIELDS} } }`;
export const DRAFT_FROM_VERSION = `mutation($versionId: ID!, $replace: Boolean) { createDraftFromVersion(versionId: $versionId, replaceExisting: $replace) { ${RECORD_FIELDS} revision } }`;
export const DELETE_BASE = `mutation($id: ID!) { deleteBase(id: $id) { id } }`;
export const RESTORE_BASE = `mutation($id: ID!) { restoreBase(id: $id) { id name } }`;
export const BASE = `query($id: ID!) { base(id: $id) { id kind name ownership owner { id } createdBy { id } updatedBy { id } draft { id revision } versions { id versionNumber } latestVersion { id versionNumber } runnableRecord { id } createdAt updatedAt firstPublishedAt } }`;
export const RECORD = `query($id: ID!) { record(id: $id) { ${RECORD_FIELDS} ... on Draft { revision } } }`;
export const RECORDS = `query($baseId: ID!) { records(baseId: $baseId) { id status versionNumber } }`;
export const BASES = `query($first: Int, $after: String, $filter: BaseFilter) { bases(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name kind ownership } } } }`;
export const RUN_POLICY = `mutation($baseId: ID!, $data: JSONObject!) { runPolicy(baseId: $baseId, data: $data) { result error trace rule data labels record { baseId recordId status versionNumber } timings { engineNs databaseNs gatewayNs } } }`;
export const RUN_RECORD = `mutation($recordId: ID!, $data: JSONObject!) { runPolicyRecord(recordId: $recordId, data: $data) { result error rule labels record { baseId recordId status versionNumber } } }`;
export const RUN_RULE = `mutation($rule: String!, $data: JSONObject!) { runRule(rule: $rule, data: $data) { result error trace rule data labels record { recordId } } }`;
export const RUN_BATCH = `mutation($baseId: ID!, $inputs: [JSON!]!) { runPolicyBatch(baseId: $baseId, inputs: $inputs) { result error record { versionNumber } } }`;
export const RUN_FLOW = `mutation($baseId: ID!, $data: JSONObject!) { runFlow(baseId: $baseId, data: $data) { result nodeResponse { nodeId nodeType response execution } execution record { recordId versionNumber status } } }`;
export const RUN_FLOW_RECORD = `mutation($recordId: ID!, $data: JSONObject!) { runFlowRecord(recordId: $recordId, data: $data) { result nodeResponse { nodeId } record { recordId } } }`;
export const TEST_FLOW = `mutation($definition: String!, $data: JSONObject!) { testFlow(definition: $definition, data: $data) { result nodeResponse { nodeId nodeType response } record { recordId } } }`;
export const RUN_TESTS = `mutation($recordId: ID!) { runStoredTests(recordId: $recordId) { recordId passed failed outcomes { name passed expected actual error } } }`;
export const COMPARE = `query($left: ID!, $right: ID!) { compareRecords(leftId: $left, rightId: $right) { left { id } right { id } lines { kind text } } }`;

export const AGE_POLICY = `A **Person** gets approved if __age__ of **Person** is greater than 18.`;
export const ADULT_POLICY = `A **Person** gets approved if __age__ of **Person** is at least 21.`;

/**
 * The lifecycle and execution documents the tests share, under the names the tests use: the typed documents
 * that `npm run codegen` makes from `operations/*.graphql` (so a test that sends one through the kit's
 * `graphqlClient` gets typed variables and answers).
 */
export {
  BasesDocument as BASES,
  BaseDocument as BASE,
  CompareRecordsDocument as COMPARE,
  CreateDraftFromVersionDocument as DRAFT_FROM_VERSION,
  CreateFlowDocument as CREATE_FLOW,
  CreatePolicyDocument as CREATE_POLICY,
  DeleteBaseDocument as DELETE_BASE,
  PublishDraftDocument as PUBLISH,
  RecordDocument as RECORD,
  RecordsDocument as RECORDS,
  RestoreBaseDocument as RESTORE_BASE,
  RunFlowDocument as RUN_FLOW,
  RunFlowRecordDocument as RUN_FLOW_RECORD,
  RunPolicyBatchDocument as RUN_BATCH,
  RunPolicyDocument as RUN_POLICY,
  RunPolicyRecordDocument as RUN_RECORD,
  RunRuleDocument as RUN_RULE,
  RunStoredTestsDocument as RUN_TESTS,
  TestFlowDocument as TEST_FLOW,
  UpdateDraftDocument as UPDATE_DRAFT,
} from "../../operations/__generated__/graphql.js";

export const AGE_POLICY = `A **Person** gets approved if __age__ of **Person** is greater than 18.`;
export const ADULT_POLICY = `A **Person** gets approved if __age__ of **Person** is at least 21.`;

import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

const run = can(Action.RunResources);

export const executionPermissions: ModulePermissions = {
  Mutation: {
    runPolicy: run,
    runPolicyRecord: run,
    runRule: run,
    runPolicyBatch: run,
    runFlow: run,
    runFlowRecord: run,
    testFlow: run,
    runStoredTests: run,
  },
};

import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const replayPermissions: ModulePermissions = {
  Query: {
    recordingSettings: can(Action.ReplayRecordedInputs),
    previewImpact: can(Action.ReplayRecordedInputs),
    shadow: can(Action.ReplayRecordedInputs),
  },
  Mutation: {
    configureRecording: can(Action.ConfigureRecording),
    setShadow: can(Action.ConfigureShadow),
  },
};

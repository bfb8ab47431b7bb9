import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const resourcePermissions: ModulePermissions = {
  Query: {
    base: can(Action.ReadResources),
    record: can(Action.ReadResources),
    bases: can(Action.ReadResources),
    records: can(Action.ReadResources),
    compareRecords: can(Action.ReadResources),
  },
  Mutation: {
    createPolicy: can(Action.AuthorResources),
    createFlow: can(Action.AuthorResources),
    updateDraft: can(Action.AuthorResources),
    createDraftFromVersion: can(Action.AuthorResources),
    publishDraft: can(Action.PublishResources),
    deleteBase: can(Action.DeleteResources),
    restoreBase: can(Action.DeleteResources),
  },
};

import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const cataloguePermissions: ModulePermissions = {
  Query: {
    exportBase: can(Action.ReadResources),
  },
  Mutation: {
    importBundle: can(Action.ImportResources),
    setBaseAlias: can(Action.OrganiseResources),
    addBaseTags: can(Action.OrganiseResources),
    removeBaseTags: can(Action.OrganiseResources),
    setBaseRiskLevel: can(Action.OrganiseResources),
    lockBase: can(Action.LockResources),
    unlockBase: can(Action.LockResources),
  },
};

import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const identityPermissions: ModulePermissions = {
  Query: {
    users: can(Action.ManageRoles),
    apiKeys: can(Action.ManageApiKeys),
  },
  Mutation: {
    assignRoles: can(Action.ManageRoles),
    removeRoles: can(Action.ManageRoles),
    createApiKey: can(Action.ManageApiKeys),
    revokeApiKey: can(Action.ManageApiKeys),
    transferOwnership: can(Action.TransferOwnership),
  },
};

import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const groupPermissions: ModulePermissions = {
  Query: { groups: can(Action.ReadResources), group: can(Action.ReadResources) },
  Mutation: {
    createGroup: can(Action.EditGroups),
    updateGroup: can(Action.EditGroups),
    deleteGroup: can(Action.DeleteGroups),
    addGroupMember: can(Action.EditGroups),
    removeGroupMember: can(Action.EditGroups),
  },
};

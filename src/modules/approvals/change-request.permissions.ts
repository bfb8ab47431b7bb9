import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

/**
 * Who may decide is a matter of each request's approval policies (approver roles and named users), checked by
 * the service; the root rule only asks for a role. Withdrawing is the requester's alone.
 */
export const changeRequestPermissions: ModulePermissions = {
  Query: { changeRequests: can(Action.ReadResources), changeRequest: can(Action.ReadResources) },
  Mutation: {
    publishDraftWithApproval: can(Action.PublishResources),
    deleteBaseWithApproval: can(Action.DeleteResources),
    restoreBaseWithApproval: can(Action.DeleteResources),
    transferOwnershipWithApproval: can(Action.TransferOwnership),
    assignRolesWithApproval: can(Action.ManageRoles),
    createApiKeyWithApproval: can(Action.ManageApiKeys),
    claimApprovedApiKey: can(Action.ManageApiKeys),
    approveChangeRequest: can(Action.ReadResources),
    rejectChangeRequest: can(Action.ReadResources),
    withdrawChangeRequest: can(Action.ReadResources),
  },
};

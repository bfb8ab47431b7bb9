import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const approvalPolicyPermissions: ModulePermissions = {
  Query: { approvalPolicies: can(Action.ReadResources), approvalPolicy: can(Action.ReadResources) },
  Mutation: {
    createApprovalPolicy: can(Action.ManageApprovalPolicies),
    updateApprovalPolicy: can(Action.ManageApprovalPolicies),
    archiveApprovalPolicy: can(Action.ManageApprovalPolicies),
    restoreApprovalPolicy: can(Action.ManageApprovalPolicies),
  },
};

import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const auditPermissions: ModulePermissions = {
  Query: { auditEvents: can(Action.ReadAudit), verifyAuditChain: can(Action.ReadAudit) },
};

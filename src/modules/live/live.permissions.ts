import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

export const livePermissions: ModulePermissions = {
  Subscription: { baseChanged: can(Action.ReadResources), auditEvents: can(Action.ReadAudit), changeRequestChanged: can(Action.ReadResources) },
};

import { isAuthenticated, type ModulePermissions } from "../../graphql/shield-rules.js";

export const viewerPermissions: ModulePermissions = {
  Query: { viewer: isAuthenticated },
};

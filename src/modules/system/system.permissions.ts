import { allow } from "graphql-shield";
import type { ModulePermissions } from "../../graphql/shield-rules.js";

export const systemPermissions: ModulePermissions = {
  Query: { version: allow },
};

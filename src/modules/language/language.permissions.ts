import { Action } from "../../authorization/actions.js";
import { can, type ModulePermissions } from "../../graphql/shield-rules.js";

const read = can(Action.ReadResources);

export const languagePermissions: ModulePermissions = {
  Query: { validateRule: read, explainRule: read, languageOperators: read },
};

import { GraphQLError, type GraphQLSchema, isObjectType } from "graphql";
import { allow, deny, shield } from "graphql-shield";
import type { IRules } from "graphql-shield";
import type { IMiddlewareFieldMap } from "graphql-middleware";
import { approvalPolicyPermissions } from "../modules/approvals/approval-policy.permissions.js";
import { changeRequestPermissions } from "../modules/approvals/change-request.permissions.js";
import { auditPermissions } from "../modules/audit/audit.permissions.js";
import { groupPermissions } from "../modules/groups/group.permissions.js";
import { identityPermissions } from "../modules/identity/identity.permissions.js";
import { systemPermissions } from "../modules/system/system.permissions.js";
import { viewerPermissions } from "../modules/viewer/viewer.permissions.js";
import { executionPermissions } from "../modules/execution/execution.permissions.js";
import { replayPermissions } from "../modules/replay/replay.permissions.js";
import { livePermissions } from "../modules/live/live.permissions.js";
import { languagePermissions } from "../modules/language/language.permissions.js";
import { resourcePermissions } from "../modules/resources/resource.permissions.js";
import type { ModulePermissions } from "../graphql/shield-rules.js";
import { cataloguePermissions } from "../modules/catalogue/catalogue.permissions.js";

/** Every module's root-field rules. A root field that no module lists is denied. */
const MODULE_PERMISSIONS: readonly ModulePermissions[] = [
  systemPermissions,
  viewerPermissions,
  identityPermissions,
  groupPermissions,
  auditPermissions,
  resourcePermissions,
  executionPermissions,
  languagePermissions,
  livePermissions,
  approvalPolicyPermissions,
  changeRequestPermissions,
  cataloguePermissions,
  replayPermissions,
];

const ROOT_TYPES = ["Query", "Mutation", "Subscription"] as const;

/**
 * Shield with deny as the fallback for root fields. Fields of ordinary object types are reachable only
 * through a root field that was already allowed, so they are allowed explicitly rather than by fallback.
 */
export function permissionsFor(schema: GraphQLSchema) {
  const rules: Record<string, unknown> = {};
  for (const rootType of ROOT_TYPES) {
    if (!schema.getType(rootType)) continue;
    const fields: Record<string, unknown> = {};
    for (const module of MODULE_PERMISSIONS) {
      for (const [field, rule] of Object.entries(module[rootType] ?? {})) {
        if (field in fields) throw new Error(`Two modules define a permission for ${rootType}.${field}`);
        fields[field] = rule;
      }
    }
    rules[rootType] = fields;
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__") || (ROOT_TYPES as readonly string[]).includes(type.name)) continue;
    rules[type.name] = allow;
  }
  const generator = shield(rules as IRules, {
    fallbackRule: deny,
    // Resolver errors (NOT_FOUND, CONFLICT, BAD_USER_INPUT…) must reach the client unchanged.
    allowExternalErrors: true,
    fallbackError: () => new GraphQLError("You are not allowed to do this", { extensions: { code: "FORBIDDEN" } }),
  });
  // Only root fields carry decisions. Wrapping every nested field in an `allow` rule would cost each
  // resolved field a middleware call (measured in bench/auth.bench.ts) and decide nothing.
  const generated = generator.generate(schema) as Record<string, IMiddlewareFieldMap[string]>;
  return Object.fromEntries(ROOT_TYPES.filter((t) => t in generated).map((t) => [t, generated[t]])) as IMiddlewareFieldMap;
}

import type { NonEmptyArray } from "type-graphql";
import { ApprovalPolicyResolver } from "../modules/approvals/approval-policy.resolver.js";
import { ChangeRequestResolver } from "../modules/approvals/change-request.resolver.js";
import { AuditResolver } from "../modules/audit/audit.resolver.js";
import { BaseGroupsResolver } from "../modules/groups/base-groups.resolver.js";
import { GroupResolver } from "../modules/groups/group.resolver.js";
import { IdentityResolver } from "../modules/identity/identity.resolver.js";
import { SystemResolver } from "../modules/system/system.resolver.js";
import { ViewerResolver } from "../modules/viewer/viewer.resolver.js";
import { ExecutionResolver } from "../modules/execution/execution.resolver.js";
import { LiveResolver } from "../modules/live/live.resolver.js";
import { LanguageResolver } from "../modules/language/language.resolver.js";
import { BaseFieldsResolver, RecordFieldsResolver } from "../modules/resources/base.resolver.js";
import { ResourceResolver } from "../modules/resources/resource.resolver.js";
import { ReplayResolver } from "../modules/replay/replay.resolver.js";
import {
  BaseLockFieldsResolver,
  CatalogueBaseFieldsResolver,
  CatalogueResolver,
  DependencyFieldsResolver,
  FlowUsageFieldsResolver,
  PolicyUseFieldsResolver,
} from "../modules/catalogue/catalogue.resolver.js";

// biome-ignore lint/complexity/noBannedTypes: type-graphql takes the resolver classes as NonEmptyArray<Function>
export const resolvers: NonEmptyArray<Function> = [
  SystemResolver,
  ViewerResolver,
  IdentityResolver,
  GroupResolver,
  BaseGroupsResolver,
  AuditResolver,
  ResourceResolver,
  BaseFieldsResolver,
  RecordFieldsResolver,
  ExecutionResolver,
  LanguageResolver,
  LiveResolver,
  ApprovalPolicyResolver,
  ChangeRequestResolver,
  CatalogueResolver,
  CatalogueBaseFieldsResolver,
  BaseLockFieldsResolver,
  DependencyFieldsResolver,
  PolicyUseFieldsResolver,
  FlowUsageFieldsResolver,
  ReplayResolver,
];

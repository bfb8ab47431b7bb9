import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";

/** The closed list of things an actor can be allowed to do. Every check in the gateway names one. */
export enum Action {
  ReadResources = "read_resources",
  RunResources = "run_resources",
  AuthorResources = "author_resources",
  PublishResources = "publish_resources",
  DeleteResources = "delete_resources",
  /** Catalogue metadata that creates no version: aliases, tags, risk level. */
  OrganiseResources = "organise_resources",
  /** Locking and unlocking a base's draft (and its deletion) with a reason. */
  LockResources = "lock_resources",
  /** Importing a bundle: creates bases, or new drafts of existing ones. */
  ImportResources = "import_resources",
  EditGroups = "edit_groups",
  DeleteGroups = "delete_groups",
  ManageRoles = "manage_roles",
  ManageApiKeys = "manage_api_keys",
  TransferOwnership = "transfer_ownership",
  ReadAudit = "read_audit",
  /** Publishing although the record's stored tests fail, with a reason in the audit event. */
  OverrideTestGate = "override_test_gate",
  /** Create, edit, archive and restore approval policies (src/modules/approvals/README.md); reading them is ReadResources. */
  ManageApprovalPolicies = "manage_approval_policies",
  /** Turning a base's input recording on or off, its retention and redactions: a decision about keeping customers' data. */
  ConfigureRecording = "configure_recording",
  /**
   * Reading recorded inputs and what is learnt from real traffic: replaying candidates against them
   * (previewImpact, recording settings) and a shadow's agreement counts and disagreements.
   */
  ReplayRecordedInputs = "replay_recorded_inputs",
  /** Naming (or removing) the shadow record a base's runs are also evaluated against: trying a candidate on real traffic. */
  ConfigureShadow = "configure_shadow",
}

const VIEWER: readonly Action[] = [Action.ReadResources, Action.RunResources];
const EDITOR: readonly Action[] = [...VIEWER, Action.AuthorResources, Action.OrganiseResources, Action.ImportResources, Action.EditGroups];
/**
 * Publishers decide what goes live, so they see what a candidate would change on real (redacted) inputs and may
 * run one in shadow (which changes no answer and keeps inputs only where an admin opted the base into recording).
 */
const PUBLISHER: readonly Action[] = [...EDITOR, Action.PublishResources, Action.ReplayRecordedInputs, Action.ConfigureShadow];
/** Admins also read the audit log, which only admins and auditors may read. */
const ADMIN: readonly Action[] = [
  ...PUBLISHER,
  Action.ReadAudit,
  Action.DeleteResources,
  Action.LockResources,
  Action.DeleteGroups,
  Action.ManageRoles,
  Action.ManageApiKeys,
  Action.TransferOwnership,
  Action.OverrideTestGate,
  Action.ManageApprovalPolicies,
  Action.ConfigureRecording,
];
const AUDITOR: readonly Action[] = [Action.ReadResources, Action.ReadAudit];

export const ROLE_ACTIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  VIEWER: new Set(VIEWER),
  EDITOR: new Set(EDITOR),
  PUBLISHER: new Set(PUBLISHER),
  ADMIN: new Set(ADMIN),
  AUDITOR: new Set(AUDITOR),
};

/** The operator at the CLI may do everything, in any tenant; it is audited as SYSTEM. */
export const OPERATOR_ACTIONS: ReadonlySet<Action> = new Set(Object.values(Action));

/** API-key scopes mirror the roles (`view` = read + run). */
export const SCOPE_ACTIONS: Readonly<Record<ApiKeyScope, ReadonlySet<Action>>> = {
  VIEW: ROLE_ACTIONS.VIEWER,
  EDIT: ROLE_ACTIONS.EDITOR,
  PUBLISH: ROLE_ACTIONS.PUBLISHER,
  ADMIN: ROLE_ACTIONS.ADMIN,
  AUDIT: ROLE_ACTIONS.AUDITOR,
};

import type { Database } from "../database/database.js";
import { ApprovalPolicyStore } from "./approval-policy.store.js";
import { AuditStore } from "./audit.store.js";
import { BaseStore } from "./base.store.js";
import { ChangeRequestStore } from "./change-request.store.js";
import { GroupStore } from "./group.store.js";
import { IdentityStore } from "./identity.store.js";
import { RecordingStore } from "./recording.store.js";
import { ShadowStore } from "./shadow.store.js";
import { SystemStore } from "./system.store.js";
import { TenantStore } from "./tenant.store.js";

/** One store per aggregate; together they hold every SQL statement the services need. */
export interface Stores {
  bases: BaseStore;
  groups: GroupStore;
  audit: AuditStore;
  identities: IdentityStore;
  tenants: TenantStore;
  system: SystemStore;
  approvalPolicies: ApprovalPolicyStore;
  changeRequests: ChangeRequestStore;
  recordings: RecordingStore;
  shadows: ShadowStore;
}

export function createStores(database: Database): Stores {
  return {
    bases: new BaseStore(database),
    groups: new GroupStore(database),
    audit: new AuditStore(database),
    identities: new IdentityStore(database),
    tenants: new TenantStore(database),
    system: new SystemStore(database),
    approvalPolicies: new ApprovalPolicyStore(database),
    changeRequests: new ChangeRequestStore(database),
    recordings: new RecordingStore(database),
    shadows: new ShadowStore(database),
  };
}

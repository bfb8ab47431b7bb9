import type { Database } from "./database/database.js";
import { ApprovalPolicyService } from "./modules/approvals/approval-policy.service.js";
import { ChangeRequestService } from "./modules/approvals/change-request.service.js";
import { wireAppliers } from "./modules/approvals/appliers.js";
import { AuditService } from "./modules/audit/audit.service.js";
import { ExecutionAuditBatcher } from "./modules/audit/execution-audit.js";
import { GroupService } from "./modules/groups/group.service.js";
import { ApiKeyService } from "./modules/identity/api-key.service.js";
import { OwnershipService } from "./modules/identity/ownership.service.js";
import { UserService } from "./modules/identity/user.service.js";
import { SystemService } from "./modules/system/system.service.js";
import { ViewerService } from "./modules/viewer/viewer.service.js";
import { InputRecorder } from "./modules/replay/input-recorder.js";
import { ReplayService } from "./modules/replay/replay.service.js";
import { ShadowRunner } from "./modules/replay/shadow-runner.js";
import { ShadowService } from "./modules/replay/shadow.service.js";
import { ExecutionService } from "./modules/execution/execution.service.js";
import { Evaluator, type EvaluatorOptions } from "./modules/execution/evaluator.js";
import { RunnableCache } from "./modules/execution/runnable-cache.js";
import { LiveService } from "./modules/live/live.service.js";
import { LifecycleService } from "./modules/resources/lifecycle.service.js";
import { createStores, type Stores } from "./stores/index.js";
import { CatalogueGuards } from "./modules/catalogue/catalogue-guards.js";
import { CatalogueService } from "./modules/catalogue/catalogue.service.js";
import { TransferService } from "./modules/catalogue/transfer.service.js";

/** The per-process service graph. Services hold the rules; resolvers and routes only translate. */
export interface Services {
  /** The stores under the services, for the per-request loaders. */
  stores: Stores;
  system: SystemService;
  viewer: ViewerService;
  users: UserService;
  apiKeys: ApiKeyService;
  ownership: OwnershipService;
  groups: GroupService;
  audit: AuditService;
  /** Batches `executed` audit events across concurrent runs; each `record` resolves once its event is durable. */
  executionAudit: ExecutionAuditBatcher;
  lifecycle: LifecycleService;
  /** Aliases, tags, risk levels, locks. */
  catalogue: CatalogueService;
  /** Export and import of bundles. */
  transfer: TransferService;
  /** Cross-process cache of what runs; `start()` subscribes it to change announcements. */
  runnables: RunnableCache;
  execution: ExecutionService;
  /** Records inputs of bases that opted in; `start()` subscribes it to change announcements. */
  inputRecorder: InputRecorder;
  replay: ReplayService;
  /** Evaluates bases' shadow records after their runs answered; `start()` subscribes it to change announcements. */
  shadowRunner: ShadowRunner;
  shadows: ShadowService;
  /** Runs evaluations in line or in the worker pool, fairly between tenants; `close()` stops the pool. */
  evaluator: Evaluator;
  /** Live subscriptions fed by the audit log; `start()` listens for its announcements. */
  live: LiveService;
  approvalPolicies: ApprovalPolicyService;
  /** Four-eyes changes: the lifecycle's approval hook, and approving, rejecting, withdrawing and applying. */
  changeRequests: ChangeRequestService;
}

/**
 * The graph over one database. A dedicated tenant's database gets a graph of its own (src/tenant-databases.ts);
 * those pass the shared graph's `evaluator`, so the process keeps one worker pool whatever the number of databases.
 */
export function createServices(database: Database, stores: Stores = createStores(database), evaluation: EvaluatorOptions | Evaluator = {}): Services {
  const executionAudit = new ExecutionAuditBatcher(database);
  const runnables = new RunnableCache(database, stores.bases);
  const evaluator = evaluation instanceof Evaluator ? evaluation : new Evaluator(evaluation);
  const catalogueGuards = new CatalogueGuards(stores.bases, stores.identities);
  const catalogue = new CatalogueService(database, stores.bases, catalogueGuards);
  const execution = new ExecutionService(runnables, executionAudit, evaluator);
  // Bases that opted in keep their run inputs for replay, recorded off the response path.
  const inputRecorder = new InputRecorder(database, stores.recordings);
  // …and bases that name a shadow record evaluate it on each run's input after the run answered.
  const shadowRunner = new ShadowRunner(database, stores.shadows, runnables, execution, async (baseId) => {
    const recording = await inputRecorder.recordingOf(baseId);
    return recording?.enabled ? recording.redactPaths : null;
  });
  execution.runObservers = [inputRecorder, shadowRunner];
  // Publishing gates on the draft's stored tests, which the execution service runs.
  const lifecycle = new LifecycleService(
    database,
    stores.bases,
    async (actor, recordId, tests) => (await execution.evaluateStoredTests(actor, recordId, tests)).outcomes,
    catalogueGuards,
  );
  // Governed changes become change requests; approved ones are applied through the owning module.
  const changeRequests = new ChangeRequestService(database, stores.changeRequests, stores.approvalPolicies, stores.groups);
  const ownership = new OwnershipService(database, stores.bases, stores.identities);
  const users = new UserService(database, stores.tenants, stores.identities);
  const apiKeys = new ApiKeyService(database, stores.identities);
  lifecycle.approvals = changeRequests;
  ownership.approvals = changeRequests;
  users.approvals = changeRequests;
  apiKeys.approvals = changeRequests;
  wireAppliers(changeRequests, { lifecycle, ownership, users, apiKeys });
  return {
    stores,
    system: new SystemService(stores.system),
    viewer: new ViewerService(stores.tenants, stores.identities),
    users,
    apiKeys,
    ownership,
    groups: new GroupService(database, stores.groups, stores.bases),
    audit: new AuditService(stores.audit),
    executionAudit,
    lifecycle,
    catalogue,
    transfer: new TransferService(database, stores.bases, catalogueGuards, catalogue),
    runnables,
    execution,
    inputRecorder,
    replay: new ReplayService(database, stores.bases, stores.recordings, runnables),
    shadowRunner,
    shadows: new ShadowService(database, stores.bases, stores.shadows),
    evaluator,
    live: new LiveService(database, lifecycle),
    approvalPolicies: new ApprovalPolicyService(database, stores.approvalPolicies, stores.identities),
    changeRequests,
  };
}

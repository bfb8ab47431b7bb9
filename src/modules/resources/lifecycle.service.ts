import { diffLines } from "diff";
import type { Database } from "../../database/database.js";
import type { BaseKind } from "../../generated/prisma/enums.js";
import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { listingScopeOf, requireBaseFor } from "../../authorization/resource-access.js";
import { conflict, DomainError, DomainErrorCode, invalidInput, notFound } from "../../errors/domain-error.js";
import { requireUuid } from "../../shared/ids.js";
import type { Connection } from "../../shared/keyset.js";
import { type TenantActor, userIdOf } from "../../identity/actor.js";
import type { Base as BaseRow, BaseStore } from "../../stores/base.store.js";
import { inTransaction, type Transaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { type ApprovalHook, appliedOnly, type Governed, type GovernedChange, staleOnConflict } from "./approval-hook.js";
import type { LifecycleGuards } from "./lifecycle-guards.js";
import { assertPublishable } from "./publishability.js";
import { gateOnStoredTests, type StoredTestRunner } from "./publish-gate.js";
import { recordFields } from "./record-fields.js";
import { toDraft, toVersion } from "./record-mapping.js";
import type { BaseFilter, CreateResourceInput, PublishDraftInput, UpdateDraftInput } from "./resource.inputs.js";
import type { Base, Draft, ResourceRecord, Version } from "./resource.types.js";

export interface RecordComparison {
  left: ResourceRecord;
  right: ResourceRecord;
  lines: { kind: "ADDED" | "REMOVED" | "UNCHANGED"; text: string }[];
}

/**
 * The one lifecycle of policies and flows: a base with at most one draft and immutable, gap-free numbered
 * versions. Every change locks its base row, writes its audit event and announces the change to every
 * gateway process, all in one transaction.
 */
export class LifecycleService {
  /** Four-eyes changes; null (no approvals wired, as in some tests) applies every change directly. */
  approvals: ApprovalHook | null = null;

  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly runStoredTests: StoredTestRunner,
    private readonly guards: LifecycleGuards,
  ) {}

  async create(actor: TenantActor, kind: BaseKind, input: CreateResourceInput): Promise<Draft> {
    requireAction(actor, Action.AuthorResources);
    const userId = userIdOf(actor);
    const name = requireName(input.name);
    const fields = recordFields(kind, input);
    return inTransaction(this.database, async (tx) => {
      const base = await this.bases.createBase(tx, {
        tenantId: actor.tenantId,
        kind,
        name,
        ownerId: userId,
        createdById: userId,
        updatedById: userId,
      });
      const draft = await this.bases.createDraft(tx, {
        tenantId: actor.tenantId,
        baseId: base.id,
        ...fields,
        createdById: userId,
        updatedById: userId,
      });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "CREATED",
        resourceKind: kind,
        baseId: base.id,
        recordId: draft.id,
        detail: { name },
      });
      return toDraft(draft);
    });
  }

  async updateDraft(actor: TenantActor, input: UpdateDraftInput): Promise<Draft> {
    const draftId = requireUuid(input.draftId, "Draft");
    return this.changeBase(actor, await this.baseIdOfDraft(actor, draftId, "Draft"), Action.AuthorResources, async (tx, base) => {
      const draft = await this.bases.findDraft(tx, draftId);
      if (!draft || draft.baseId !== base.id) throw notFound("Draft", draftId);
      requireRevision(draft.revision, input.expectedRevision);
      const userId = userIdOf(actor);
      const fields = recordFields(base.kind, {
        content: input.content ?? draft.content,
        description: input.description === undefined ? draft.description : input.description,
        inputSchema: input.inputSchema === undefined ? draft.inputSchema : input.inputSchema,
        tests: input.tests ?? toDraft(draft).tests,
      });
      const updated = await this.bases.updateDraft(tx, draftId, { ...fields, updatedById: userId, updatedAt: new Date() });
      const name = input.name == null ? base.name : requireName(input.name);
      await this.bases.updateBase(tx, base.id, { name, updatedById: userId, updatedAt: new Date() });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "EDITED",
        resourceKind: base.kind,
        baseId: base.id,
        recordId: draftId,
        detail: { revision: updated.revision, ...(name !== base.name ? { name } : {}) },
      });
      return toDraft(updated);
    });
  }

  /** Publishes the draft; CONFLICT when an approval policy governs the publish (see `publishOrRequest`). */
  async publish(actor: TenantActor, input: PublishDraftInput): Promise<Version> {
    return appliedOnly(await this.publishOrRequest(actor, input, { request: false }));
  }

  /**
   * Publishes the draft, or — when an enabled approval policy governs this publish and the actor does not
   * bypass it — records a pending change request (with `request`) and publishes nothing.
   */
  async publishOrRequest(actor: TenantActor, input: PublishDraftInput, options: { request: boolean }): Promise<Governed<Version>> {
    const draftId = requireUuid(input.draftId, "Draft");
    const description = input.description.trim();
    if (!description) throw invalidInput("description", "is required to publish");
    const baseId = await this.baseIdOfDraft(actor, draftId, "Draft");
    const base = requireBaseFor(actor, await this.bases.findBase(baseId), Action.PublishResources, draftId) as BaseRow;
    // The stored tests run before the base is locked (they read through other connections); the revision
    // they ran against must still be the draft's once the lock is held, or the publish is refused.
    const tested = await this.bases.findDraftOfBase(baseId);
    if (!tested || tested.id !== draftId) throw conflict("The draft was already published or replaced", { draftId });
    if (input.expectedRevision != null) requireRevision(tested.revision, input.expectedRevision);
    // A draft that cannot run is refused as such (NOT_PUBLISHABLE) before its tests would all fail on it.
    await assertPublishable((id) => this.bases.isListedPolicy(this.database.prisma, listingScopeOf(actor), id), base.kind, tested.content);
    const gate = await gateOnStoredTests(this.runStoredTests, actor, draftId, toDraft(tested).tests, input.override);
    return this.changeBase(actor, baseId, Action.PublishResources, async (tx, base): Promise<Governed<Version>> => {
      const draft = await this.bases.findDraft(tx, draftId);
      // Two racing publishes of one draft: the second finds it gone once it holds the base lock.
      if (!draft || draft.baseId !== base.id) throw conflict("The draft was already published or replaced", { draftId });
      if (draft.revision !== tested.revision) throw conflict("The draft changed while its stored tests ran: publish again", { draftId });
      await assertPublishable((id) => this.bases.isListedPolicy(tx, listingScopeOf(actor), id), base.kind, draft.content);
      const latest = base.latestVersionNumber > 0 ? await this.bases.findVersionByNumber(tx, base.id, base.latestVersionNumber) : null;
      const pending = await this.intercept(
        tx,
        actor,
        {
          action: "PUBLISH",
          base,
          payload: { draftId, revision: draft.revision, description, gate, requesterUserId: userIdOf(actor) },
          size: changedLines(latest?.content ?? "", draft.content),
        },
        options,
      );
      if (pending) return pending;
      return { applied: await this.writeVersion(tx, actor, base, draft, description, { fromDraft: draftId, description, ...gate }) };
    });
  }

  /**
   * Applies an approved publish inside the approval's transaction, as the approving `actor`'s act: the version
   * the request recorded, or why it can no longer be applied (base deleted or locked, draft replaced or moved
   * to another revision, no longer publishable) — the request is then stale.
   */
  async applyApprovedPublish(
    tx: Transaction,
    actor: TenantActor,
    request: { baseId: string; draftId: string; revision: number; description: string; requesterUserId: string | null; detail: Record<string, unknown> },
  ): Promise<{ applied: Version } | { stale: string }> {
    const base = await this.bases.lock(tx, request.baseId, "update");
    if (!base || base.tenantId !== actor.tenantId || base.deletedAt) return { stale: "the base was deleted" };
    if (base.lockedAt) return { stale: "the base is locked" };
    const draft = await this.bases.findDraft(tx, request.draftId);
    if (!draft || draft.baseId !== base.id) return { stale: "the draft was published or replaced" };
    if (draft.revision !== request.revision) return { stale: `the draft moved from revision ${request.revision} to ${draft.revision}` };
    const scope = { tenantId: base.tenantId, userId: request.requesterUserId, everyOwner: false };
    try {
      await assertPublishable((id) => this.bases.isListedPolicy(tx, scope, id), base.kind, draft.content);
    } catch (error) {
      if (error instanceof DomainError && error.code === DomainErrorCode.NotPublishable) return { stale: error.message };
      throw error;
    }
    const version = await this.writeVersion(tx, actor, base, draft, request.description, request.detail, request.requesterUserId);
    await this.bases.announceChange(tx, base.id);
    return { applied: version };
  }

  /** Turns the draft into the next version: the one write of every publish, direct or approved. */
  private async writeVersion(
    tx: Transaction,
    actor: TenantActor,
    base: BaseRow,
    draft: { id: string; content: string; inputSchema: unknown; tests: unknown },
    description: string,
    detail: Record<string, unknown>,
    authorId: string | null = userIdOf(actor),
  ): Promise<Version> {
    const number = base.latestVersionNumber + 1;
    const now = new Date();
    const version = await this.bases.createVersion(tx, {
      tenantId: base.tenantId,
      baseId: base.id,
      number,
      content: draft.content,
      description,
      inputSchema: draft.inputSchema,
      tests: draft.tests,
      createdById: authorId,
      createdAt: now,
    });
    await this.bases.deleteDraft(tx, draft.id);
    await this.bases.updateBase(tx, base.id, {
      latestVersionNumber: number,
      ownership: "ORGANISATION_OWNED",
      firstPublishedAt: base.firstPublishedAt ?? now,
      updatedById: userIdOf(actor),
      updatedAt: now,
    });
    await recordAuditEvent(tx, actor, actor.tenantId, {
      action: "PUBLISHED",
      resourceKind: base.kind,
      baseId: base.id,
      recordId: version.id,
      version: number,
      detail,
    });
    return toVersion(version);
  }

  async draftFromVersion(actor: TenantActor, versionId: string, replaceExisting: boolean): Promise<Draft> {
    const id = requireUuid(versionId, "Version");
    const located = await this.bases.locateVersion(id);
    if (!located || located.tenantId !== actor.tenantId) throw notFound("Version", versionId);
    return this.changeBase(actor, located.baseId, Action.AuthorResources, async (tx, base) => {
      const version = (await this.bases.findVersion(tx, id))!;
      const existing = await this.bases.findDraftOfBase(base.id, tx);
      if (existing && !replaceExisting) {
        throw conflict("The base already has a draft; pass replaceExisting to overwrite it", { draftId: existing.id });
      }
      if (existing) await this.bases.deleteDraft(tx, existing.id);
      const userId = userIdOf(actor);
      const draft = await this.bases.createDraft(tx, {
        tenantId: base.tenantId,
        baseId: base.id,
        content: version.content,
        description: version.description,
        inputSchema: version.inputSchema,
        tests: version.tests,
        sourceVersionId: version.id,
        createdById: userId,
        updatedById: userId,
      });
      await this.bases.updateBase(tx, base.id, { updatedById: userId, updatedAt: new Date() });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "DRAFTED",
        resourceKind: base.kind,
        baseId: base.id,
        recordId: draft.id,
        version: version.number,
        detail: { fromVersion: version.id, replaced: existing?.id ?? null },
      });
      return toDraft(draft);
    });
  }

  /** Deleting works on the base, whichever of its IDs (base or record) is passed. */
  /** `force` deletes a policy even though live flows' latest versions use it: deleting one would break them, so it takes an explicit choice. */
  async deleteBase(actor: TenantActor, id: string, force = false): Promise<Base> {
    return appliedOnly(await this.deleteOrRequest(actor, id, force, { request: false }));
  }

  /** Deletes the base, or records a pending change request when an approval policy governs the delete. */
  async deleteOrRequest(actor: TenantActor, id: string, force: boolean, options: { request: boolean }): Promise<Governed<Base>> {
    const baseId = await this.baseIdOfAnyId(actor, id);
    return this.changeBase(actor, baseId, Action.DeleteResources, async (tx, base): Promise<Governed<Base>> => {
      const usedBy = await this.guards.flowsBlockingDeletion(tx, base, force);
      const pending = await this.intercept(tx, actor, { action: "DELETE", base, payload: { baseId: base.id, force }, size: 0 }, options);
      if (pending) return pending;
      return { applied: await this.writeDeletion(tx, actor, base, usedBy, {}) };
    });
  }

  /** Applies an approved delete inside the approval's transaction; stale when the base is gone, locked, or now in use. */
  async applyApprovedDelete(
    tx: Transaction,
    actor: TenantActor,
    request: { baseId: string; force: boolean; detail: Record<string, unknown> },
  ): Promise<{ applied: Base } | { stale: string }> {
    const base = await this.bases.lock(tx, request.baseId, "update");
    if (!base || base.tenantId !== actor.tenantId || base.deletedAt) return { stale: "the base was deleted" };
    if (base.lockedAt) return { stale: "the base is locked" };
    const usedBy = await staleOnConflict(() => this.guards.flowsBlockingDeletion(tx, base, request.force));
    if ("stale" in usedBy) return usedBy;
    const deleted = await this.writeDeletion(tx, actor, base, usedBy.value, request.detail);
    await this.bases.announceChange(tx, base.id);
    return { applied: deleted };
  }

  private async writeDeletion(
    tx: Transaction,
    actor: TenantActor,
    base: BaseRow,
    usedBy: { id: string; name: string; version: number }[],
    detail: Record<string, unknown>,
  ): Promise<Base> {
    const deleted = await this.bases.updateBase(tx, base.id, { deletedAt: new Date(), deletedById: userIdOf(actor) });
    const shown = { ...(usedBy.length ? { forced: true, usedBy } : {}), ...detail };
    await recordAuditEvent(tx, actor, actor.tenantId, {
      action: "DELETED",
      resourceKind: base.kind,
      baseId: base.id,
      ...(Object.keys(shown).length ? { detail: shown } : {}),
    });
    return deleted;
  }

  async restoreBase(actor: TenantActor, id: string): Promise<Base> {
    return appliedOnly(await this.restoreOrRequest(actor, id, { request: false }));
  }

  /** Restores the deleted base, or records a pending change request when an approval policy governs the restore. */
  async restoreOrRequest(actor: TenantActor, id: string, options: { request: boolean }): Promise<Governed<Base>> {
    requireAction(actor, Action.DeleteResources);
    const baseId = await this.baseIdOfAnyId(actor, id, { includeDeleted: true });
    return inTransaction(this.database, async (tx): Promise<Governed<Base>> => {
      const base = await this.bases.lock(tx, baseId, "update");
      if (!base || base.tenantId !== actor.tenantId) throw notFound("Resource", id);
      if (!base.deletedAt) throw conflict("The base is not deleted", { baseId });
      await this.guards.assertAliasFreeForRestore(tx, base);
      const pending = await this.intercept(tx, actor, { action: "RESTORE", base, payload: { baseId: base.id }, size: 0 }, options);
      if (pending) return pending;
      return { applied: await this.writeRestore(tx, actor, base, {}) };
    });
  }

  /** Applies an approved restore inside the approval's transaction; stale when the base was restored or its alias taken since. */
  async applyApprovedRestore(
    tx: Transaction,
    actor: TenantActor,
    request: { baseId: string; detail: Record<string, unknown> },
  ): Promise<{ applied: Base } | { stale: string }> {
    const base = await this.bases.lock(tx, request.baseId, "update");
    if (!base || base.tenantId !== actor.tenantId) return { stale: "the base no longer exists" };
    if (!base.deletedAt) return { stale: "the base was restored already" };
    const free = await staleOnConflict(() => this.guards.assertAliasFreeForRestore(tx, base));
    if ("stale" in free) return free;
    return { applied: await this.writeRestore(tx, actor, base, request.detail) };
  }

  private async writeRestore(tx: Transaction, actor: TenantActor, base: BaseRow, detail: Record<string, unknown>): Promise<Base> {
    const restored = await this.bases.updateBase(tx, base.id, {
      deletedAt: null,
      deletedById: null,
      updatedById: userIdOf(actor),
      updatedAt: new Date(),
    });
    await recordAuditEvent(tx, actor, actor.tenantId, {
      action: "RESTORED",
      resourceKind: base.kind,
      baseId: base.id,
      ...(Object.keys(detail).length ? { detail } : {}),
    });
    await this.bases.announceChange(tx, base.id);
    return restored;
  }

  /** The approval hook, when wired: null to go on, or the pending change request (see ApprovalHook). */
  private async intercept(tx: Transaction, actor: TenantActor, change: GovernedChange, options: { request: boolean }): Promise<Governed<never> | null> {
    const changeRequestId = this.approvals ? await this.approvals.intercept(tx, actor, change, options) : null;
    return changeRequestId ? { changeRequestId } : null;
  }

  async getBase(actor: TenantActor, id: string): Promise<Base> {
    const base = await this.bases.findBase(id);
    return requireBaseFor(actor, base, Action.ReadResources, id) as BaseRow;
  }

  async getRecord(actor: TenantActor, id: string): Promise<ResourceRecord> {
    requireUuid(id, "Record");
    const found = await this.bases.findRecord(id);
    requireBaseFor(actor, found?.base, Action.ReadResources, id);
    return found!.draft ? toDraft(found!.draft) : toVersion(found!.version!);
  }

  /** The draft (if any), then versions newest first. */
  async listRecords(actor: TenantActor, baseId: string): Promise<ResourceRecord[]> {
    const base = await this.getBase(actor, baseId);
    const [draft, versions] = await Promise.all([this.bases.findDraftOfBase(base.id), this.bases.versionsOfBase(base.id)]);
    return [...(draft ? [toDraft(draft)] : []), ...versions.map(toVersion)];
  }

  async listBases(actor: TenantActor, filter: BaseFilter, first: number, after?: string | null): Promise<Connection<Base>> {
    requireAction(actor, Action.ReadResources);
    const tags = filter.tags ? this.guards.tagFilter(filter.tags) : null;
    return this.bases.listBases(listingScopeOf(actor, { everyOwner: filter.allOwners === true }), { ...filter, tags }, { first, after });
  }

  async compare(actor: TenantActor, leftId: string, rightId: string): Promise<RecordComparison> {
    const [left, right] = await Promise.all([this.getRecord(actor, leftId), this.getRecord(actor, rightId)]);
    const lines = diffLines(left.content, right.content).flatMap((part) =>
      part.value
        .replace(/\n$/, "")
        .split("\n")
        .map((text) => ({ kind: part.added ? ("ADDED" as const) : part.removed ? ("REMOVED" as const) : ("UNCHANGED" as const), text })),
    );
    return { left, right, lines };
  }

  /**
   * Locks the base row for the rest of the transaction (serialising every change of one base, which is what
   * keeps version numbers gap-free), checks access, runs `change`, and announces it to every process.
   */
  private changeBase<T>(actor: TenantActor, baseId: string, action: Action, change: (tx: Transaction, base: BaseRow) => Promise<T>): Promise<T> {
    return inTransaction(this.database, async (tx) => {
      const base = await this.bases.lock(tx, baseId, "update");
      requireBaseFor(actor, base, action, baseId);
      await this.guards.assertUnlocked(tx, base!);
      const result = await change(tx, base!);
      await this.bases.announceChange(tx, baseId);
      return result;
    });
  }

  private async baseIdOfDraft(actor: TenantActor, draftId: string, what: string): Promise<string> {
    const draft = await this.bases.locateDraft(draftId);
    if (!draft || draft.tenantId !== actor.tenantId) throw notFound(what, draftId);
    return draft.baseId;
  }

  /** Any ID of a base (its own or a record's) to the base ID; NOT_FOUND unless it is the caller's tenant's. */
  private async baseIdOfAnyId(actor: TenantActor, id: string, options: { includeDeleted?: boolean } = {}): Promise<string> {
    requireUuid(id, "Resource");
    const baseId = await this.bases.baseIdOf(id);
    const base = baseId ? await this.bases.findBase(baseId) : null;
    if (!base || base.tenantId !== actor.tenantId || (base.deletedAt && !options.includeDeleted)) throw notFound("Resource", id);
    return baseId!;
  }
}

function requireName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw invalidInput("name", "must not be empty");
  return trimmed;
}

function requireRevision(current: number, expected: number): void {
  if (current !== expected) {
    throw new DomainError(DomainErrorCode.StaleRevision, `The draft is at revision ${current}, not ${expected}: reload it and apply your change again`, {
      currentRevision: current,
      expectedRevision: expected,
    });
  }
}

/** Lines added or removed going from `before` to `after`: the `size` of a change in approval conditions. */
function changedLines(before: string, after: string): number {
  return diffLines(before, after).reduce((n, part) => n + (part.added || part.removed ? (part.count ?? 0) : 0), 0);
}

import type { Database } from "../../database/database.js";
import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { requireBaseFor } from "../../authorization/resource-access.js";
import { conflict, invalidInput, notFound } from "../../errors/domain-error.js";
import { type TenantActor, userIdOf } from "../../identity/actor.js";
import { isUuid } from "../../shared/ids.js";
import type { Base, BaseStore, Draft, Version } from "../../stores/base.store.js";
import { inTransaction, isUniqueViolation, type Transaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import { MAX_CONTENT_LENGTH } from "../resources/resource.inputs.js";
import { recordFields } from "../resources/record-fields.js";
import {
  type Bundle,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleRecord,
  dependencyOrder,
  readBundle,
  rewriteNodeReferences,
  sealRecord,
} from "./bundle.js";
import type { CatalogueGuards } from "./catalogue-guards.js";
import { asAlias, normaliseAlias, normaliseTags, withTags } from "./catalogue-rules.js";
import type { CatalogueService } from "./catalogue.service.js";
import { referencesOf, resolveReferences } from "./dependencies.js";

export interface ImportMapping {
  /** The bundled record: its key, its source base ID or its alias. */
  source: string;
  /** A base of the importing tenant (ID or alias) that gets the record as its new draft. */
  target: string;
}

export type ImportAction = "CREATE_BASE" | "NEW_DRAFT";

export interface ImportedRecord {
  key: string;
  name: string;
  kind: Base["kind"];
  action: ImportAction;
  matchedBy: "MAPPING" | "ALIAS" | "ID" | null;
  /** Null in a dry run for a base that would be created. */
  baseId: string | null;
  draftId: string | null;
  rewrittenReferences: number;
}

export interface ImportReport {
  dryRun: boolean;
  records: ImportedRecord[];
}

/** Thrown inside a dry run's transaction to roll everything back once the report is complete. */
class DryRunRollback extends Error {
  constructor(readonly report: ImportReport) {
    super("dry run");
  }
}

/**
 * Export and import of bundles. Export: a base's record (a given version, else the runnable
 * record) and, for a flow, every policy record its nodes resolve to now. Import: all or nothing in one
 * transaction: every bundled record becomes a new base or a new draft of an existing base, flow nodes are
 * rewritten to the bases their policies became, and every record's event is audited.
 */
export class TransferService {
  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly guards: CatalogueGuards,
    private readonly catalogue: CatalogueService,
  ) {}

  async exportBase(actor: TenantActor, ref: string, versionNumber: number | null): Promise<Bundle> {
    const baseId = await this.catalogue.baseIdFor(actor, ref);
    const base = requireBaseFor(actor, await this.bases.findBase(baseId), Action.ReadResources, ref) as Base;
    const root = await this.recordToExport(base, versionNumber, ref);
    const records = [this.toBundleRecord(base, root, {})];
    if (base.kind === "FLOW") {
      const references = referencesOf(root.content);
      if (!references) throw conflict("The flow's record does not load as a flow, so the policies it uses cannot be told", { recordId: root.id });
      const resolved = await resolveReferences(
        this.bases,
        actor.tenantId,
        references.map((r) => r.reference),
      );
      const map: Record<string, string> = {};
      for (const { reference, nodeIds } of references) {
        const target = resolved.get(reference);
        if (!target) {
          throw conflict(`Node '${nodeIds[0]}' names policy '${reference}', which does not exist or is deleted; fix the flow before exporting it`, {
            nodeId: nodeIds[0],
            policyId: reference,
          });
        }
        map[reference] = target.record.id;
        if (!records.some((r) => r.key === target.record.id)) records.push(this.toBundleRecord(target.base, target.record, {}));
      }
      records[0] = this.toBundleRecord(base, root, map);
    }
    return { format: BUNDLE_FORMAT, formatVersion: BUNDLE_FORMAT_VERSION, exportedAt: new Date().toISOString(), root: root.id, records };
  }

  async importBundle(actor: TenantActor, raw: unknown, mappings: readonly ImportMapping[], dryRun: boolean): Promise<ImportReport> {
    requireAction(actor, Action.ImportResources);
    const bundle = readBundle(raw);
    for (const record of bundle.records) validateRecord(record);
    const targets = await this.mappedTargets(actor, bundle, mappings);
    try {
      return await inTransaction(this.database, async (tx) => {
        const report: ImportReport = { dryRun, records: [] };
        const baseOfKey = new Map<string, string>();
        // One bundle may hold two records of one source base (e.g. a flow naming a policy by base ID and by an
        // older record ID): only the first created base takes the alias.
        const aliasesGiven = new Set<string>();
        for (const record of dependencyOrder(bundle.records)) {
          const replacements = new Map(Object.entries(record.references).map(([reference, key]) => [reference, baseOfKey.get(key)!]));
          const { content, rewritten } = rewriteNodeReferences(record.content, replacements);
          const alias = record.alias && !aliasesGiven.has(record.alias) ? record.alias : null;
          if (alias) aliasesGiven.add(alias);
          const imported = await this.importRecord(tx, actor, record, { ...record, content, alias }, targets.get(record.key) ?? null);
          baseOfKey.set(record.key, imported.baseId);
          report.records.push({ ...imported.report, rewrittenReferences: rewritten });
        }
        if (dryRun) {
          throw new DryRunRollback({
            dryRun,
            records: report.records.map((r) => (r.action === "CREATE_BASE" ? { ...r, baseId: null, draftId: null } : { ...r, draftId: null })),
          });
        }
        return report;
      });
    } catch (error) {
      if (error instanceof DryRunRollback) return error.report;
      // Another request took one of the bundle's aliases while this import ran.
      if (isUniqueViolation(error)) throw conflict("An alias of the bundle was taken by another base while importing; nothing was imported, try again");
      throw error;
    }
  }

  private async recordToExport(base: Base, versionNumber: number | null, ref: string): Promise<Draft | Version> {
    const versions = await this.bases.versionsOfBase(base.id);
    if (versionNumber != null) {
      const version = versions.find((v) => v.number === versionNumber);
      if (!version) throw notFound(`Version ${versionNumber} of`, ref);
      return version;
    }
    const record = versions[0] ?? (await this.bases.findDraftOfBase(base.id));
    if (!record) throw notFound("Resource", ref);
    return record;
  }

  private toBundleRecord(base: Base, record: Draft | Version, references: Record<string, string>): BundleRecord {
    return sealRecord({
      key: record.id,
      sourceBaseId: base.id,
      kind: base.kind,
      name: base.name,
      alias: base.alias,
      tags: base.tags,
      riskLevel: base.riskLevel,
      versionNumber: "number" in record ? record.number : null,
      content: record.content,
      description: record.description,
      inputSchema: record.inputSchema ?? null,
      tests: Array.isArray(record.tests) ? record.tests : [],
      references,
    });
  }

  /**
   * Which existing base each record becomes a draft of: an explicit mapping first, else the live base holding
   * the record's alias, else the record's own source base when it is in this tenant (a re-import). Decided
   * before the transaction; the base rows are locked and checked again inside it.
   */
  private async mappedTargets(actor: TenantActor, bundle: Bundle, mappings: readonly ImportMapping[]) {
    const targets = new Map<string, { baseId: string; matchedBy: "MAPPING" | "ALIAS" | "ID" }>();
    for (const [index, mapping] of mappings.entries()) {
      const source = mapping.source.trim();
      const record = bundle.records.find(
        (r) => r.key === source || r.sourceBaseId === source.toLowerCase() || (r.alias !== null && r.alias === asAlias(source)),
      );
      if (!record) throw invalidInput(`mapping[${index}].source`, `names no record of the bundle: ${mapping.source}`);
      const baseId = await this.catalogue.baseIdFor(actor, mapping.target);
      if (!isUuid(baseId)) throw notFound("Resource", mapping.target);
      targets.set(record.key, { baseId, matchedBy: "MAPPING" });
    }
    for (const record of bundle.records) {
      if (targets.has(record.key)) continue;
      const byAlias = record.alias ? await this.bases.baseIdByAlias(actor.tenantId, record.alias) : null;
      if (byAlias) {
        targets.set(record.key, { baseId: byAlias, matchedBy: "ALIAS" });
        continue;
      }
      const own = isUuid(record.sourceBaseId) ? await this.bases.findBase(record.sourceBaseId) : null;
      if (own && own.tenantId === actor.tenantId && own.deletedAt === null) targets.set(record.key, { baseId: own.id, matchedBy: "ID" });
    }
    return targets;
  }

  private async importRecord(
    tx: Transaction,
    actor: TenantActor,
    source: BundleRecord,
    record: BundleRecord,
    target: { baseId: string; matchedBy: "MAPPING" | "ALIAS" | "ID" } | null,
  ): Promise<{ baseId: string; report: Omit<ImportedRecord, "rewrittenReferences"> }> {
    const userId = userIdOf(actor);
    const fields = recordFields(record.kind, {
      content: record.content,
      description: record.description,
      inputSchema: record.inputSchema,
      tests: record.tests as { name: string; data: unknown; expected: unknown }[],
    });
    const detail = { sourceBaseId: source.sourceBaseId, sourceRecordId: source.key, sourceVersion: source.versionNumber, sha256: source.sha256 };
    if (!target) {
      const alias = record.alias ? normaliseAlias(record.alias, `bundle record ${record.key} alias`) : null;
      const base = await this.bases.createBase(tx, {
        tenantId: actor.tenantId,
        kind: record.kind,
        name: record.name,
        ownerId: userId,
        createdById: userId,
        updatedById: userId,
        alias,
        tags: withTags([], normaliseTags(record.tags)),
        riskLevel: record.riskLevel,
      });
      const draft = await this.bases.createDraft(tx, { tenantId: actor.tenantId, baseId: base.id, ...fields, createdById: userId, updatedById: userId });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "IMPORTED",
        resourceKind: record.kind,
        baseId: base.id,
        recordId: draft.id,
        detail: { ...detail, created: true, name: record.name },
      });
      await this.bases.announceChange(tx, base.id);
      return {
        baseId: base.id,
        report: { key: record.key, name: record.name, kind: record.kind, action: "CREATE_BASE", matchedBy: null, baseId: base.id, draftId: draft.id },
      };
    }
    const base = await this.bases.lock(tx, target.baseId, "update");
    requireBaseFor(actor, base, Action.AuthorResources, target.baseId);
    if (base!.kind !== record.kind) {
      throw conflict(`Record ${record.key} ('${record.name}') is a ${record.kind.toLowerCase()} but base ${base!.id} is a ${base!.kind.toLowerCase()}`, {
        key: record.key,
        baseId: base!.id,
      });
    }
    await this.guards.assertUnlocked(tx, base!);
    const existing = await this.bases.findDraftOfBase(base!.id, tx);
    if (existing) {
      throw conflict(`Base ${base!.id} ('${base!.name}') already has a draft; publish it or replace it from a version before importing into it`, {
        key: record.key,
        baseId: base!.id,
        draftId: existing.id,
      });
    }
    const draft = await this.bases.createDraft(tx, { tenantId: actor.tenantId, baseId: base!.id, ...fields, createdById: userId, updatedById: userId });
    await this.bases.updateBase(tx, base!.id, { updatedById: userId, updatedAt: new Date() });
    await recordAuditEvent(tx, actor, actor.tenantId, {
      action: "IMPORTED",
      resourceKind: record.kind,
      baseId: base!.id,
      recordId: draft.id,
      detail: { ...detail, created: false, matchedBy: target.matchedBy },
    });
    await this.bases.announceChange(tx, base!.id);
    return {
      baseId: base!.id,
      report: { key: record.key, name: record.name, kind: record.kind, action: "NEW_DRAFT", matchedBy: target.matchedBy, baseId: base!.id, draftId: draft.id },
    };
  }
}

/** The same bounds as records written through the API. */
function validateRecord(record: BundleRecord): void {
  const at = `bundle record ${record.key}`;
  if (!record.name.trim() || record.name.length > 200) throw invalidInput(`${at} name`, "must be 1 to 200 characters");
  if (record.content.length > MAX_CONTENT_LENGTH) throw invalidInput(`${at} content`, `must be at most ${MAX_CONTENT_LENGTH} characters`);
  if (record.kind === "FLOW" && referencesOf(record.content) === null) throw invalidInput(`${at} content`, "does not load as a flow");
  if (record.alias !== null) normaliseAlias(record.alias, `${at} alias`);
  withTags([], normaliseTags(record.tags, `${at} tags`));
}

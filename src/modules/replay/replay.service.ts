import type { Database } from "../../database/database.js";
import { type CompiledPolicy, evaluatePolicy, type PolicyResponse } from "../../engine/index.js";
import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { exists, requireBaseFor } from "../../authorization/resource-access.js";
import { invalidInput, notFound } from "../../errors/domain-error.js";
import { type TenantActor, userIdOf } from "../../identity/actor.js";
import { requireUuid } from "../../shared/ids.js";
import type { BaseStore } from "../../stores/base.store.js";
import type { BaseRecording, RecordingStore } from "../../stores/recording.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import type { RunnableCache } from "../execution/runnable-cache.js";
import type { ImpactCounts, ImpactPreview, RecordingSettings, RecordingSettingsInput, ReplayedInput } from "./replay.types.js";

/** Yield to other requests this often while replaying, so a 10,000-input replay never holds the event loop long. */
const YIELD_EVERY = 250;

const OFF = (baseId: string): RecordingSettings => ({ baseId, enabled: false, retentionDays: 7, maxInputs: 10_000, redactPaths: [] });

/** Opt-in recording of a base's run inputs, and replaying a candidate against them. */
export class ReplayService {
  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly recordings: RecordingStore,
    private readonly runnables: RunnableCache,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async settings(actor: TenantActor, baseId: string): Promise<RecordingSettings> {
    requireUuid(baseId, "Resource");
    requireBaseFor(actor, await this.bases.findBase(baseId), Action.ReplayRecordedInputs, baseId);
    const row = await this.recordings.settingsOf(baseId);
    return row ? toSettings(row) : OFF(baseId);
  }

  /** Audited; announced like any change of the base, so every process's recorder re-reads the settings. */
  async configure(actor: TenantActor, input: RecordingSettingsInput): Promise<RecordingSettings> {
    const baseId = requireUuid(input.baseId, "Resource");
    const redactPaths = [...new Set(input.redactPaths.map((path) => path.trim()))];
    for (const [index, path] of redactPaths.entries()) {
      if (!/^[^.\s]+(\.[^.\s]+)*$/.test(path)) throw invalidInput(`redactPaths[${index}]`, "must be a dotted data path such as Person.ssn");
    }
    return inTransaction(this.database, async (tx) => {
      const base = await this.bases.lock(tx, baseId, "update");
      requireBaseFor(actor, base, Action.ConfigureRecording, baseId);
      const saved = await this.recordings.saveSettings(tx, {
        baseId,
        tenantId: actor.tenantId,
        enabled: input.enabled,
        retentionDays: input.retentionDays,
        maxInputs: input.maxInputs,
        redactPaths,
        updatedById: userIdOf(actor),
      });
      const settings = toSettings(saved);
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "RECORDING_CONFIGURED",
        resourceKind: base!.kind,
        baseId,
        detail: { enabled: settings.enabled, retentionDays: settings.retentionDays, maxInputs: settings.maxInputs, redactPaths: settings.redactPaths },
      });
      await this.bases.announceChange(tx, baseId);
      return settings;
    });
  }

  /**
   * Evaluates the candidate (a draft or version of a policy) and the base's live record against the base's
   * newest `last` recorded inputs. Reads only: no `executed` events, nothing stored. Counts cover the whole
   * sample; `inputs` is one page of it, newest first, the cursor being the recorded input's ID.
   */
  async previewImpact(
    actor: TenantActor,
    candidateRecordId: string,
    last: number,
    page: { first: number; after?: string | null },
    now?: Date | null,
  ): Promise<ImpactPreview> {
    requireAction(actor, Action.ReplayRecordedInputs);
    requireUuid(candidateRecordId, "Record");
    if (page.after != null && !/^\d{1,19}$/.test(page.after)) throw invalidInput("after", "is not a cursor of this listing");
    const lookup = this.runnables.forOneOperation(actor.tenantId);
    const candidate = await lookup.byRecord(candidateRecordId);
    if (!exists(actor, candidate)) throw notFound("Record", candidateRecordId);
    if (candidate.kind !== "POLICY") throw invalidInput("candidateRecordId", "replay compares policies' true/false answers; name a policy's draft or version");
    const live = await lookup.byBase(candidate.baseId);
    const settings = (await this.recordings.settingsOf(candidate.baseId)) ?? null;
    // Deleting the base hides its inputs (exists() above); a base that never recorded has none. Never more than
    // the base's maximum: a base may hold a little more until its next trim (src/modules/replay/README.md).
    const recorded = settings ? await this.recordings.latest(candidate.baseId, Math.min(last, settings.maxInputs), settings.retentionDays) : [];
    const at = now ?? this.now();
    const counts: ImpactCounts = { total: recorded.length, same: 0, trueToFalse: 0, falseToTrue: 0, errors: 0 };
    const replayed: ReplayedInput[] = [];
    for (const [index, input] of recorded.entries()) {
      if (index > 0 && index % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      const liveResponse = live ? evaluate(live.compiled!, input.data, at) : null;
      const candidateResponse = evaluate(candidate.compiled!, input.data, at);
      const liveResult = liveResponse && !liveResponse.error ? liveResponse.result : null;
      const candidateResult = candidateResponse.error ? null : candidateResponse.result;
      if (liveResponse?.error || candidateResponse.error) counts.errors++;
      else if (liveResult === candidateResult) counts.same++;
      else if (liveResult === true) counts.trueToFalse++;
      else if (liveResult === false) counts.falseToTrue++;
      replayed.push({
        recordedInputId: input.id,
        recordedAt: input.recordedAt,
        data: input.data,
        liveResult,
        liveError: liveResponse?.error ?? null,
        candidateResult,
        candidateError: candidateResponse.error,
        changed: liveResult !== candidateResult || (liveResponse?.error ?? null) !== candidateResponse.error,
      });
    }
    const start = page.after == null ? 0 : replayed.findIndex((item) => BigInt(item.recordedInputId) < BigInt(page.after!));
    const slice = start < 0 ? [] : replayed.slice(start, start + page.first);
    const hasNextPage = start >= 0 && start + page.first < replayed.length;
    return {
      candidateRecordId: candidate.recordId,
      liveRecordId: live?.recordId ?? null,
      counts,
      inputs: {
        edges: slice.map((node) => ({ cursor: node.recordedInputId, node })),
        pageInfo: { hasNextPage, endCursor: slice.at(-1)?.recordedInputId ?? null },
        totalCount: replayed.length,
      },
    };
  }
}

function evaluate(compiled: CompiledPolicy, data: unknown, now: Date): PolicyResponse {
  return evaluatePolicy(compiled, data, { now });
}

function toSettings(row: BaseRecording): RecordingSettings {
  return { baseId: row.baseId, enabled: row.enabled, retentionDays: row.retentionDays, maxInputs: row.maxInputs, redactPaths: row.redactPaths };
}

import type { Database } from "../../database/database.js";
import { Action } from "../../authorization/actions.js";
import { requireBaseFor } from "../../authorization/resource-access.js";
import { invalidInput, notFound } from "../../errors/domain-error.js";
import { type TenantActor, userIdOf } from "../../identity/actor.js";
import { requireUuid } from "../../shared/ids.js";
import type { BaseStore } from "../../stores/base.store.js";
import type { BaseShadow, ShadowDisagreement as DisagreementRow, ShadowStore, ShadowTotals } from "../../stores/shadow.store.js";
import { inTransaction } from "../../stores/transaction.js";
import { recordAuditEvent } from "../audit/audit-recorder.js";
import type { ShadowDisagreement, ShadowStatus } from "./replay.types.js";

/** Bases whose shadow counters /metrics exports, at most (the label sets Prometheus keeps must stay bounded). */
export const MAX_SHADOWS_IN_METRICS = 10_000;

/** Naming a base's shadow record and reading how its answers compare. The runs are ShadowRunner's. */
export class ShadowService {
  constructor(
    private readonly database: Database,
    private readonly bases: BaseStore,
    private readonly shadows: ShadowStore,
  ) {}

  /** Counters are what every process has flushed (each flushes once a second); the disagreements newest first. */
  async status(actor: TenantActor, baseId: string): Promise<ShadowStatus> {
    requireUuid(baseId, "Resource");
    requireBaseFor(actor, await this.bases.findBase(baseId), Action.ReplayRecordedInputs, baseId);
    const row = await this.shadows.shadowOf(baseId);
    return toStatus(baseId, row, row ? await this.shadows.disagreements(baseId) : []);
  }

  /**
   * Names `recordId` (a draft or version of the same base) as the base's shadow, or removes it (null). A new
   * shadow starts with zero counts and no disagreements; naming the current one again changes and records
   * nothing. Audited (SHADOW_SET with from/to) and announced like any change of the base, so every process's
   * ShadowRunner re-reads it.
   */
  async setShadow(actor: TenantActor, baseId: string, recordId: string | null): Promise<ShadowStatus> {
    const id = requireUuid(baseId, "Resource");
    return inTransaction(this.database, async (tx) => {
      const base = await this.bases.lock(tx, id, "update");
      requireBaseFor(actor, base, Action.ConfigureShadow, id);
      const shadowId = recordId === null ? null : await this.shadowRecordOf(actor, id, recordId);
      const current = await this.shadows.shadowOf(id, tx);
      if ((current?.recordId ?? null) === shadowId) {
        return toStatus(id, current, current ? await this.shadows.disagreements(id) : []);
      }
      let saved: BaseShadow | null = null;
      if (shadowId === null) await this.shadows.clear(tx, id);
      else saved = await this.shadows.replace(tx, { baseId: id, tenantId: actor.tenantId, recordId: shadowId, setById: userIdOf(actor) });
      await recordAuditEvent(tx, actor, actor.tenantId, {
        action: "SHADOW_SET",
        resourceKind: base!.kind,
        baseId: id,
        recordId: shadowId,
        detail: { from: current?.recordId ?? null, to: shadowId },
      });
      await this.bases.announceChange(tx, id);
      return toStatus(id, saved, []);
    });
  }

  /** Every live base's shadow counters, for /metrics (the same on every process: they are database totals). */
  totals(): Promise<ShadowTotals[]> {
    return this.shadows.totals(MAX_SHADOWS_IN_METRICS);
  }

  /** A record of another tenant is unknown; one of another base of this tenant is a mistake worth naming. */
  private async shadowRecordOf(actor: TenantActor, baseId: string, recordId: string): Promise<string> {
    const found = await this.bases.findRecord(recordId);
    if (!found || found.base.tenantId !== actor.tenantId) throw notFound("Record", recordId);
    if (found.base.id !== baseId) throw invalidInput("recordId", "must be a draft or version of the same base");
    return (found.version ?? found.draft!).id;
  }
}

function toStatus(baseId: string, row: BaseShadow | null, disagreements: DisagreementRow[]): ShadowStatus {
  return {
    baseId,
    recordId: row?.recordId ?? null,
    setAt: row?.setAt ?? null,
    lastRunAt: row?.lastRunAt ?? null,
    counts: {
      runs: Number(row?.runs ?? 0),
      agreed: Number(row?.agreed ?? 0),
      disagreed: Number(row?.disagreed ?? 0),
      errors: Number(row?.errors ?? 0),
      dropped: Number(row?.dropped ?? 0),
    },
    disagreements: disagreements.map(
      (d): ShadowDisagreement => ({
        sequence: Number(d.sequence),
        occurredAt: d.occurredAt,
        liveRecordId: d.liveRecordId,
        shadowRecordId: d.shadowRecordId,
        liveResult: d.liveResult,
        liveError: d.liveError,
        shadowResult: d.shadowResult,
        shadowError: d.shadowError,
        data: d.data,
      }),
    ),
  };
}

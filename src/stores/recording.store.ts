import type { Database } from "../database/database.js";
import type { BaseRecording } from "../generated/prisma/client.js";
import type { Transaction } from "./transaction.js";

export type { BaseRecording };

export interface InputToRecord {
  tenantId: string;
  baseId: string;
  recordId: string;
  data: unknown;
}

export interface RecordedInputRow {
  id: string;
  recordId: string;
  data: unknown;
  recordedAt: Date;
}

/** Per-base input recording: its settings and the recorded, already redacted, inputs. */
export class RecordingStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  settingsOf(baseId: string): Promise<BaseRecording | null> {
    return this.prisma.baseRecording.findUnique({ where: { baseId } });
  }

  saveSettings(tx: Transaction, settings: Omit<BaseRecording, "updatedAt">): Promise<BaseRecording> {
    const { baseId, ...rest } = settings;
    return tx.baseRecording.upsert({ where: { baseId }, create: settings, update: { ...rest, updatedAt: new Date() } });
  }

  /** One statement for a whole batch of runs' inputs. */
  async append(inputs: readonly InputToRecord[]): Promise<void> {
    await this.prisma.recordedInput.createMany({
      data: inputs.map((input) => ({ tenantId: input.tenantId, baseId: input.baseId, recordId: input.recordId, data: input.data as object })),
    });
  }

  /** Removes a base's inputs past their retention and beyond its newest `maxInputs`. */
  async prune(baseId: string, retentionDays: number, maxInputs: number): Promise<void> {
    await this.prisma.$executeRaw`
      DELETE FROM recorded_inputs WHERE base_id = ${baseId}::uuid AND (
        recorded_at < now() - make_interval(days => ${retentionDays}::int)
        OR id <= (SELECT id FROM recorded_inputs WHERE base_id = ${baseId}::uuid ORDER BY id DESC OFFSET ${maxInputs}::int LIMIT 1))`;
  }

  /** The newest `last` inputs of a base still within `retentionDays`, newest first. */
  async latest(baseId: string, last: number, retentionDays: number): Promise<RecordedInputRow[]> {
    const rows = await this.prisma.recordedInput.findMany({
      where: { baseId, recordedAt: { gte: new Date(Date.now() - retentionDays * 86_400_000) } },
      orderBy: { id: "desc" },
      take: last,
    });
    return rows.map((row) => ({ id: row.id.toString(), recordId: row.recordId, data: row.data, recordedAt: row.recordedAt }));
  }
}

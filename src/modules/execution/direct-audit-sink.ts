import type { Database } from "../../database/database.js";
import type { Principal } from "../../identity/principal.js";
import { type AuditEventInput, recordAuditEvent } from "../audit/audit-recorder.js";
import type { ExecutionAuditSink } from "./execution-audit-sink.js";

/** One transaction per run event: simple and durable, used where batching is not wanted. */
export class DirectExecutionAudit implements ExecutionAuditSink {
  constructor(private readonly database: Database) {}

  record(principal: Principal, tenantId: string, event: AuditEventInput): Promise<void> {
    return this.database.prisma.$transaction((tx) => recordAuditEvent(tx, principal, tenantId, event));
  }
}

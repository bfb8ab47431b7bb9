import type { TenantActor } from "../../identity/actor.js";
import type { AuditEventInput } from "../audit/audit-recorder.js";

/** Where run events go. A run's response is sent only after `record` resolves, i.e. the event is durable. */
export interface ExecutionAuditSink {
  record(actor: TenantActor, tenantId: string, event: AuditEventInput): Promise<void>;
}

import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import { invalidInput } from "../../errors/domain-error.js";
import type { AuditAction } from "../../generated/prisma/enums.js";
import { isUuid } from "../../shared/ids.js";
import { type Connection, requirePageSize } from "../../shared/keyset.js";
import type { AuditStore } from "../../stores/audit.store.js";
import type { TenantActor } from "../../identity/actor.js";
import type { AuditChainVerification, AuditEvent } from "./audit.types.js";
import { verifyChain } from "./audit-verifier.js";

export interface AuditEventQuery {
  first: number;
  after?: string | null;
  filter?: {
    actions?: AuditAction[] | null;
    baseId?: string | null;
    actorId?: string | null;
    from?: Date | null;
    to?: Date | null;
  } | null;
}

/** Reading and verifying the tenant's audit log: admins and auditors only. */
export class AuditService {
  constructor(
    private readonly store: AuditStore,
    private readonly options: { verifyPageSize?: number } = {},
  ) {}

  /** Newest first (by chain sequence), cursor-paginated, filtered by action, base, actor and time range. */
  async events(actor: TenantActor, query: AuditEventQuery): Promise<Connection<AuditEvent>> {
    const { tenantId } = requireAction(actor, Action.ReadAudit);
    requirePageSize(query.first);
    const filter = query.filter ?? {};
    const baseId = filter.baseId ? uuidFilter("filter.baseId", filter.baseId) : null;
    const actorId = filter.actorId ? uuidFilter("filter.actorId", filter.actorId) : null;
    if (filter.from && filter.to && filter.from.getTime() >= filter.to.getTime()) throw invalidInput("filter.to", "must be after filter.from");
    const page = await this.store.events(tenantId, { actions: filter.actions, baseId, actorId, from: filter.from, to: filter.to }, query);
    return {
      ...page,
      edges: page.edges.map(({ cursor, node }) => ({
        cursor,
        node: { ...node, sequence: node.sequence.toString(), detail: (node.detail ?? {}) as Record<string, unknown> },
      })),
    };
  }

  async verify(actor: TenantActor): Promise<AuditChainVerification> {
    const { tenantId } = requireAction(actor, Action.ReadAudit);
    const result = await verifyChain(this.store, tenantId, this.options.verifyPageSize);
    return { ...result, firstBrokenSequence: result.firstBrokenSequence?.toString() ?? null };
  }
}

function uuidFilter(field: string, id: string): string {
  if (!isUuid(id)) throw invalidInput(field, "is not an ID");
  return id.toLowerCase();
}

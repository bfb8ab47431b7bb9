import { Action } from "../../authorization/actions.js";
import { requireAction } from "../../authorization/authorize.js";
import type { Database } from "../../database/database.js";
import { invalidInput } from "../../errors/domain-error.js";
import type { Prisma } from "../../generated/prisma/client.js";
import type { AuditAction } from "../../generated/prisma/enums.js";
import { isUuid } from "../../graphql/ids.js";
import { decodeCursor, encodeCursor, toConnection, type Connection } from "../../graphql/pagination.js";
import type { Principal } from "../../identity/principal.js";
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

const MAX_PAGE = 100;

/** Reading and verifying the tenant's audit log: admins and auditors only. */
export class AuditService {
  constructor(
    private readonly database: Database,
    private readonly options: { verifyPageSize?: number } = {},
  ) {}

  /** Newest first (by chain sequence), cursor-paginated, filtered by action, base, actor and time range. */
  async events(principal: Principal | null, query: AuditEventQuery): Promise<Connection<AuditEvent>> {
    const { tenantId } = requireAction(principal, Action.ReadAudit);
    const first = query.first;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw invalidInput("first", `must be between 1 and ${MAX_PAGE}`);
    const where = this.whereFor(tenantId, query.filter ?? {});
    const pageWhere: Prisma.AuditEventWhereInput = query.after ? { ...where, sequence: { lt: cursorSequence(query.after) } } : where;
    const [rows, totalCount] = await Promise.all([
      this.database.prisma.auditEvent.findMany({ where: pageWhere, orderBy: { sequence: "desc" }, take: first + 1 }),
      this.database.prisma.auditEvent.count({ where }),
    ]);
    const events = rows.map((row) => ({
      ...row,
      sequence: row.sequence.toString(),
      detail: (row.detail ?? {}) as Record<string, unknown>,
    }));
    return toConnection(events, first, totalCount, (event) => encodeCursor([event.sequence]));
  }

  async verify(principal: Principal | null): Promise<AuditChainVerification> {
    const { tenantId } = requireAction(principal, Action.ReadAudit);
    const result = await verifyChain(this.database.prisma, tenantId, this.options.verifyPageSize);
    return { ...result, firstBrokenSequence: result.firstBrokenSequence?.toString() ?? null };
  }

  private whereFor(tenantId: string, filter: NonNullable<AuditEventQuery["filter"]>): Prisma.AuditEventWhereInput {
    const where: Prisma.AuditEventWhereInput = { tenantId };
    if (filter.actions) where.action = { in: filter.actions };
    if (filter.baseId) where.baseId = uuidFilter("filter.baseId", filter.baseId);
    if (filter.actorId) where.actorId = uuidFilter("filter.actorId", filter.actorId);
    if (filter.from && filter.to && filter.from.getTime() >= filter.to.getTime()) {
      throw invalidInput("filter.to", "must be after filter.from");
    }
    if (filter.from || filter.to) {
      where.occurredAt = { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) };
    }
    return where;
  }
}

function uuidFilter(field: string, id: string): string {
  if (!isUuid(id)) throw invalidInput(field, "is not an ID");
  return id.toLowerCase();
}

function cursorSequence(cursor: string): bigint {
  const [sequence] = decodeCursor(cursor, 1);
  if (typeof sequence !== "string" || !/^\d{1,19}$/.test(sequence)) throw invalidInput("after", "is not a cursor this API produced");
  return BigInt(sequence);
}

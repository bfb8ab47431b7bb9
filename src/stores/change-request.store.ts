import type { Database } from "../database/database.js";
import type { ChangeRequest, ChangeRequestDecision, Prisma } from "../generated/prisma/client.js";
import type { ApprovalAction, ChangeDecision, ChangeRequestState } from "../generated/prisma/enums.js";
import { type Connection, type Keyset, keysetPage, type PageRequest, timeColumn, uuidColumn } from "../shared/keyset.js";
import type { Transaction } from "./transaction.js";

export type { ChangeRequest, ChangeRequestDecision };

/** A request with its decisions, oldest decision first. */
export type ChangeRequestWithDecisions = ChangeRequest & { decisions: ChangeRequestDecision[] };

/** A locked request, and whether its expiry has passed by the database's clock (the one every writer shares). */
export interface LockedChangeRequest {
  request: ChangeRequestWithDecisions;
  expired: boolean;
}

export interface ChangeRequestFilter {
  /** The state as read now: PENDING excludes requests whose expiry has passed, EXPIRED includes them. */
  state?: ChangeRequestState | null;
  action?: ApprovalAction | null;
  baseId?: string | null;
  requesterId?: string | null;
}

/** Newest first: the requests waiting for someone are usually the recent ones. */
const REQUEST_KEYSET: Keyset<ChangeRequest> = { columns: [timeColumn("createdAt"), uuidColumn("id")], direction: "desc" };

const WITH_DECISIONS = { decisions: { orderBy: [{ createdAt: "asc" as const }, { id: "asc" as const }] } };

/** Change requests and their decisions: every statement on `change_requests` and `change_request_decisions`. */
export class ChangeRequestStore {
  constructor(private readonly database: Database) {}

  create(tx: Transaction, data: Prisma.ChangeRequestUncheckedCreateInput): Promise<ChangeRequestWithDecisions> {
    return tx.changeRequest.create({ data, include: WITH_DECISIONS });
  }

  find(tenantId: string, id: string): Promise<ChangeRequestWithDecisions | null> {
    return this.database.prisma.changeRequest.findFirst({ where: { id, tenantId }, include: WITH_DECISIONS });
  }

  /**
   * Locks the tenant's request until the transaction ends (`FOR UPDATE`: every decision on one request queues
   * here, which is what makes two approvals apply once and approve-vs-withdraw have one outcome) and reads it.
   */
  async lock(tx: Transaction, tenantId: string, id: string): Promise<LockedChangeRequest | null> {
    const rows = await tx.$queryRaw<{ expired: boolean }[]>`
      SELECT (expires_at IS NOT NULL AND expires_at <= now()) AS expired
        FROM change_requests WHERE id = ${id}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
    if (rows.length === 0) return null;
    const request = await tx.changeRequest.findUniqueOrThrow({ where: { id }, include: WITH_DECISIONS });
    return { request, expired: rows[0]!.expired };
  }

  read(tx: Transaction, id: string): Promise<ChangeRequestWithDecisions> {
    return tx.changeRequest.findUniqueOrThrow({ where: { id }, include: WITH_DECISIONS });
  }

  /** Records one approver's decision; false when that approver had already decided on this request. */
  async addDecision(
    tx: Transaction,
    data: { tenantId: string; changeRequestId: string; approverId: string; decision: ChangeDecision; comment: string; countsFor: string[] },
  ): Promise<boolean> {
    const inserted = await tx.$executeRaw`
      INSERT INTO change_request_decisions (tenant_id, change_request_id, approver_id, decision, comment, counts_for)
      VALUES (${data.tenantId}::uuid, ${data.changeRequestId}::uuid, ${data.approverId}::uuid, ${data.decision}::"ChangeDecision", ${data.comment},
              ${data.countsFor}::uuid[])
      ON CONFLICT (change_request_id, approver_id) DO NOTHING`;
    return inserted === 1;
  }

  /** Closes a request in its final state. */
  close(
    tx: Transaction,
    id: string,
    data: { state: ChangeRequestState; closedById: string | null; comment?: string | null; resultId?: string | null },
  ): Promise<ChangeRequestWithDecisions> {
    return tx.changeRequest.update({
      where: { id },
      data: { state: data.state, closedAt: new Date(), closedById: data.closedById, comment: data.comment ?? null, resultId: data.resultId ?? null },
      include: WITH_DECISIONS,
    });
  }

  /** The tenant's requests, newest first. Expiry is read against `now` (the API's clock) for PENDING/EXPIRED filters. */
  list(tenantId: string, filter: ChangeRequestFilter, page: PageRequest, now: Date): Promise<Connection<ChangeRequestWithDecisions>> {
    const where: Prisma.ChangeRequestWhereInput = {
      tenantId,
      ...(filter.action ? { action: filter.action } : {}),
      ...(filter.baseId ? { baseId: filter.baseId } : {}),
      ...(filter.requesterId ? { requesterId: filter.requesterId } : {}),
      ...stateWhere(filter.state ?? null, now),
    };
    return keysetPage(REQUEST_KEYSET as unknown as Keyset<ChangeRequestWithDecisions>, page, where, {
      find: (args) => this.database.prisma.changeRequest.findMany({ ...args, include: WITH_DECISIONS }),
      count: (args) => this.database.prisma.changeRequest.count(args),
    });
  }
}

function stateWhere(state: ChangeRequestState | null, now: Date): Prisma.ChangeRequestWhereInput {
  switch (state) {
    case null:
      return {};
    case "PENDING":
      return { state: "PENDING", OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
    case "EXPIRED":
      return { OR: [{ state: "EXPIRED" }, { state: "PENDING", expiresAt: { lte: now } }] };
    default:
      return { state };
  }
}

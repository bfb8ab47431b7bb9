import type { Database } from "../database/database.js";
import type { ApprovalPolicy, Prisma } from "../generated/prisma/client.js";
import type { ApprovalAction } from "../generated/prisma/enums.js";
import { notFound } from "../errors/domain-error.js";
import { type Connection, type Keyset, keysetPage, type PageRequest, timeColumn, uuidColumn } from "../shared/keyset.js";
import type { Transaction } from "./transaction.js";

export type { ApprovalPolicy };

/** Oldest first: the order in which an admin wrote the tenant's rules. */
const POLICY_KEYSET: Keyset<ApprovalPolicy> = { columns: [timeColumn("createdAt"), uuidColumn("id")], direction: "asc" };

/** Approval policies: every statement on `approval_policies`. */
export class ApprovalPolicyStore {
  constructor(private readonly database: Database) {}

  /** The tenant's policies, archived ones only when asked for. */
  list(tenantId: string, filter: { includeArchived: boolean; action?: ApprovalAction | null }, page: PageRequest): Promise<Connection<ApprovalPolicy>> {
    const where: Prisma.ApprovalPolicyWhereInput = {
      tenantId,
      ...(filter.includeArchived ? {} : { archivedAt: null }),
      ...(filter.action ? { action: filter.action } : {}),
    };
    return keysetPage(POLICY_KEYSET, page, where, {
      find: (args) => this.database.prisma.approvalPolicy.findMany(args),
      count: (args) => this.database.prisma.approvalPolicy.count(args),
    });
  }

  find(tenantId: string, id: string): Promise<ApprovalPolicy | null> {
    return this.database.prisma.approvalPolicy.findFirst({ where: { id, tenantId } });
  }

  /** The enabled, active policies governing one action; read inside the change's transaction. */
  governing(tx: Transaction, tenantId: string, action: ApprovalAction): Promise<ApprovalPolicy[]> {
    return tx.approvalPolicy.findMany({ where: { tenantId, action, enabled: true, archivedAt: null }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }

  /** Locks the tenant's policy until the transaction ends and reads it; NOT_FOUND when the tenant has none such. */
  async lock(tx: Transaction, tenantId: string, id: string): Promise<ApprovalPolicy> {
    const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM approval_policies WHERE id = ${id}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
    if (rows.length === 0) throw notFound("ApprovalPolicy", id);
    return tx.approvalPolicy.findUniqueOrThrow({ where: { id } });
  }

  create(tx: Transaction, data: Prisma.ApprovalPolicyUncheckedCreateInput): Promise<ApprovalPolicy> {
    return tx.approvalPolicy.create({ data });
  }

  update(tx: Transaction, id: string, data: Prisma.ApprovalPolicyUncheckedUpdateInput): Promise<ApprovalPolicy> {
    return tx.approvalPolicy.update({ where: { id }, data });
  }
}

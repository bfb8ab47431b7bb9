import type { Database } from "../database/database.js";
import { notFound } from "../errors/domain-error.js";
import { isUuid } from "../shared/ids.js";
import type { Transaction } from "./transaction.js";

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
}

const TENANT_SELECT = { id: true, slug: true, name: true } as const;

/** Tenants: every statement on `tenants`, including the lock that serialises a tenant's identity changes. */
export class TenantStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  create(slug: string, name: string): Promise<TenantRow> {
    return this.prisma.tenant.create({ data: { slug, name }, select: TENANT_SELECT });
  }

  findBySlug(slug: string): Promise<TenantRow | null> {
    return this.prisma.tenant.findUnique({ where: { slug }, select: TENANT_SELECT });
  }

  find(id: string): Promise<TenantRow | null> {
    return this.prisma.tenant.findUnique({ where: { id }, select: TENANT_SELECT });
  }

  /** By slug, or by ID when the text is one. */
  findBySlugOrId(slugOrId: string): Promise<TenantRow | null> {
    return this.prisma.tenant.findFirst({
      where: isUuid(slugOrId) ? { OR: [{ id: slugOrId.toLowerCase() }, { slug: slugOrId }] } : { slug: slugOrId },
      select: TENANT_SELECT,
    });
  }

  /**
   * Serialises identity changes of one tenant; NOT_FOUND when the tenant does not exist. NO KEY UPDATE, not
   * UPDATE: foreign-key checks of concurrent inserts (audit events…) take KEY SHARE on the tenant row, and an
   * UPDATE lock would deadlock with a writer that holds the audit chain head and waits for that check.
   */
  async lock(tx: Transaction, tenantId: string): Promise<void> {
    const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM tenants WHERE id = ${tenantId}::uuid FOR NO KEY UPDATE`;
    if (rows.length === 0) throw notFound("Tenant", tenantId);
  }
}

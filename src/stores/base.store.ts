import type { Database } from "../database/database.js";
import { type Base, type Draft, Prisma, type Version } from "../generated/prisma/client.js";
import type { BaseKind, Ownership, RiskLevel } from "../generated/prisma/enums.js";
import { isUuid } from "../shared/ids.js";
import { type Connection, type Keyset, keysetPage, type PageRequest, textColumn, uuidColumn } from "../shared/keyset.js";
import type { Transaction } from "./transaction.js";

export type { Base, Draft, Version };

/**
 * Whose listings a query serves: the tenant, and the user whose never-published bases they also see (a key's
 * issuer; null for an operator's key), or every owner's (an admin who asked). Decided by src/authorization
 * (`listingScopeOf`).
 */
export interface ListingScope {
  tenantId: string;
  userId: string | null;
  everyOwner?: boolean;
}

export interface BaseListFilter {
  kind?: BaseKind | null;
  groupId?: string | null;
  nameContains?: string | null;
  hasDraft?: boolean | null;
  published?: boolean | null;
  /** All of these (already normalised) tags. */
  tags?: string[] | null;
  /** Any of these risk levels. */
  riskLevels?: RiskLevel[] | null;
}

/** A record that can run, with the facts about its base that access decisions need. */
export interface RunnableRow {
  base: Pick<Base, "id" | "tenantId" | "kind" | "ownership" | "ownerId" | "deletedAt">;
  record: { id: string; version: number | null; content: string };
}

/**
 * Every gateway process caches what it runs; a change to a base is announced on this channel so each of
 * them drops its entries. NOTIFY inside the transaction is delivered only if the change commits.
 */
export const RESOURCE_CHANGED_CHANNEL = "verdict_resource_changed";

/** Bases by name, then ID. Group member pages use the same order and cursors. */
export const BASE_KEYSET: Keyset<Pick<Base, "name" | "id">> = { columns: [textColumn("name"), uuidColumn("id")], direction: "asc" };

/**
 * The listing rule, in its two query forms (everything that lists bases goes through one of these): the
 * scope's tenant, not deleted, and organisation-owned or owned by the scope's user. A never-published base
 * is listed only for its owner.
 */
export function listedWhere(scope: ListingScope): Prisma.BaseWhereInput {
  if (scope.everyOwner) return { tenantId: scope.tenantId, deletedAt: null };
  return {
    tenantId: scope.tenantId,
    deletedAt: null,
    OR: scope.userId ? [{ ownership: "ORGANISATION_OWNED" }, { ownerId: scope.userId }] : [{ ownership: "ORGANISATION_OWNED" }],
  };
}

/** `listedWhere` for raw SQL over `bases` aliased `b`. */
export function listedSql(scope: ListingScope): Prisma.Sql {
  return Prisma.sql`b.tenant_id = ${scope.tenantId}::uuid AND b.deleted_at IS NULL
    AND (${scope.everyOwner === true} OR b.ownership = 'ORGANISATION_OWNED' OR b.owner_id = ${scope.userId}::uuid)`;
}

/** The columns of `bases` aliased `b`, as raw SQL reads them for `baseFromSql`. */
export const BASE_COLUMNS_SQL = Prisma.sql`b.id, b.tenant_id, b.kind, b.name, b.ownership, b.owner_id, b.latest_version_number,
  b.created_by_id, b.updated_by_id, b.created_at, b.updated_at, b.first_published_at, b.deleted_at, b.deleted_by_id,
  b.alias, b.tags, b.risk_level, b.locked_at, b.locked_by_id, b.lock_reason`;

export interface BaseSqlRow {
  id: string;
  tenant_id: string;
  kind: BaseKind;
  name: string;
  ownership: Ownership;
  owner_id: string | null;
  latest_version_number: number;
  created_by_id: string | null;
  updated_by_id: string | null;
  created_at: Date;
  updated_at: Date;
  first_published_at: Date | null;
  deleted_at: Date | null;
  deleted_by_id: string | null;
  alias: string | null;
  tags: string[] | null;
  risk_level: RiskLevel;
  locked_at: Date | null;
  locked_by_id: string | null;
  lock_reason: string | null;
}

export const baseFromSql = (row: BaseSqlRow): Base => ({
  id: row.id,
  tenantId: row.tenant_id,
  kind: row.kind,
  name: row.name,
  ownership: row.ownership,
  ownerId: row.owner_id,
  latestVersionNumber: row.latest_version_number,
  createdById: row.created_by_id,
  updatedById: row.updated_by_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  firstPublishedAt: row.first_published_at,
  deletedAt: row.deleted_at,
  deletedById: row.deleted_by_id,
  alias: row.alias,
  tags: row.tags ?? [],
  riskLevel: row.risk_level,
  lockedAt: row.locked_at,
  lockedById: row.locked_by_id,
  lockReason: row.lock_reason,
});

type Reader = Transaction | Database["prisma"];

/** A record's JSON columns as plain values: null `inputSchema` means "no schema", missing `tests` none. */
type WithJson<T> = Omit<T, "inputSchema" | "tests"> & { inputSchema?: unknown; tests?: unknown };

function jsonColumns<T extends object>(data: WithJson<T>): T {
  const { inputSchema, tests, ...rest } = data as WithJson<T> & { inputSchema?: unknown; tests?: unknown };
  return {
    ...rest,
    // An explicit JSON null in a Json column needs Prisma's marker; SQL NULL is what "no schema" is stored as.
    ...("inputSchema" in data ? { inputSchema: inputSchema == null ? Prisma.DbNull : (inputSchema as Prisma.InputJsonValue) } : {}),
    ...("tests" in data ? { tests: (tests ?? []) as Prisma.InputJsonValue } : {}),
  } as T;
}

/**
 * Bases and their records (one draft, numbered versions): every statement on `bases`, `drafts` and
 * `versions`, the base row lock, the listing rule and the runnable-record reads of the execution hot path.
 */
export class BaseStore {
  constructor(private readonly database: Database) {}

  private get prisma() {
    return this.database.prisma;
  }

  // ---- locks ----

  /**
   * Locks the base row until the transaction ends and reads it. `update` serialises every change of one base
   * (which keeps version numbers gap-free); `share` keeps it from changing (e.g. being deleted) while a
   * group membership that names it is written. Null when there is no such base.
   */
  async lock(tx: Transaction, baseId: string, mode: "update" | "share"): Promise<Base | null> {
    const rows =
      mode === "update"
        ? await tx.$queryRaw<{ id: string }[]>`SELECT id FROM bases WHERE id = ${baseId}::uuid FOR UPDATE`
        : await tx.$queryRaw<{ id: string }[]>`SELECT id FROM bases WHERE id = ${baseId}::uuid FOR SHARE`;
    if (rows.length === 0) return null;
    return tx.base.findUnique({ where: { id: baseId } });
  }

  /** Tells every gateway process, on commit, that the base changed. */
  async announceChange(tx: Transaction, baseId: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_notify(${RESOURCE_CHANGED_CHANNEL}, ${baseId})`;
  }

  // ---- reads ----

  /** A base by ID; null for anything that is not the ID of a base (malformed IDs included). */
  findBase(id: string, reader: Reader = this.prisma): Promise<Base | null> {
    return isUuid(id) ? reader.base.findUnique({ where: { id: id.toLowerCase() } }) : Promise.resolve(null);
  }

  /** The base an ID belongs to: a base ID itself, or the ID of one of its drafts or versions. */
  async baseIdOf(id: string, reader: Reader = this.prisma): Promise<string | null> {
    if (!isUuid(id)) return null;
    // One statement, not three lookups at once: a transaction's connection runs one query at a time (pg warns
    // of concurrent ones, and pg 9 refuses them), and one round trip is cheaper anyway.
    const rows = await reader.$queryRaw<{ base_id: string }[]>`
      SELECT id AS base_id FROM bases WHERE id = ${id}::uuid
      UNION ALL SELECT base_id FROM drafts WHERE id = ${id}::uuid
      UNION ALL SELECT base_id FROM versions WHERE id = ${id}::uuid
      LIMIT 1`;
    return rows[0]?.base_id ?? null;
  }

  /** A draft or version by its record ID, with its base. */
  async findRecord(id: string): Promise<{ draft: Draft | null; version: Version | null; base: Base } | null> {
    if (!isUuid(id)) return null;
    const recordId = id.toLowerCase();
    const [draft, version] = await Promise.all([
      this.prisma.draft.findUnique({ where: { id: recordId }, include: { base: true } }),
      this.prisma.version.findUnique({ where: { id: recordId }, include: { base: true } }),
    ]);
    if (draft) return { draft, version: null, base: draft.base };
    if (version) return { draft: null, version, base: version.base };
    return null;
  }

  /** Where a draft belongs (no lock): its base and tenant. */
  locateDraft(draftId: string): Promise<{ baseId: string; tenantId: string } | null> {
    return this.prisma.draft.findUnique({ where: { id: draftId }, select: { baseId: true, tenantId: true } });
  }

  locateVersion(versionId: string): Promise<{ baseId: string; tenantId: string } | null> {
    return this.prisma.version.findUnique({ where: { id: versionId }, select: { baseId: true, tenantId: true } });
  }

  findDraft(tx: Transaction, draftId: string): Promise<Draft | null> {
    return tx.draft.findUnique({ where: { id: draftId } });
  }

  findDraftOfBase(baseId: string, reader: Reader = this.prisma): Promise<Draft | null> {
    return reader.draft.findUnique({ where: { baseId } });
  }

  findVersion(tx: Transaction, versionId: string): Promise<Version | null> {
    return tx.version.findUnique({ where: { id: versionId } });
  }

  findVersionByNumber(tx: Transaction, baseId: string, number: number): Promise<Version | null> {
    return tx.version.findFirst({ where: { baseId, number } });
  }

  /** Newest first. */
  versionsOfBase(baseId: string): Promise<Version[]> {
    return this.prisma.version.findMany({ where: { baseId }, orderBy: { number: "desc" } });
  }

  // Batched reads for the per-request DataLoaders: one statement however many bases are asked for.

  basesByIds(ids: readonly string[]): Promise<Base[]> {
    return this.prisma.base.findMany({ where: { id: { in: [...ids] } } });
  }

  draftsOfBases(baseIds: readonly string[]): Promise<Draft[]> {
    return this.prisma.draft.findMany({ where: { baseId: { in: [...baseIds] } } });
  }

  /** By base, newest first. */
  versionsOfBases(baseIds: readonly string[]): Promise<Version[]> {
    return this.prisma.version.findMany({ where: { baseId: { in: [...baseIds] } }, orderBy: [{ baseId: "asc" }, { number: "desc" }] });
  }

  /** One page of the bases listed for the scope, by name. */
  listBases(scope: ListingScope, filter: BaseListFilter, page: PageRequest): Promise<Connection<Base>> {
    const conditions: Prisma.BaseWhereInput[] = [listedWhere(scope)];
    if (filter.kind) conditions.push({ kind: filter.kind });
    if (filter.nameContains) conditions.push({ name: { contains: filter.nameContains, mode: "insensitive" } });
    if (filter.groupId != null) {
      conditions.push(isUuid(filter.groupId) ? { groupMembers: { some: { groupId: filter.groupId.toLowerCase() } } } : { id: { in: [] } });
    }
    if (filter.hasDraft != null) conditions.push(filter.hasDraft ? { draft: { isNot: null } } : { draft: { is: null } });
    if (filter.published != null) conditions.push({ latestVersionNumber: filter.published ? { gt: 0 } : 0 });
    // `tags @> ARRAY[…]`: served by the GIN index on bases.tags.
    if (filter.tags && filter.tags.length > 0) conditions.push({ tags: { hasEvery: filter.tags } });
    if (filter.riskLevels && filter.riskLevels.length > 0) conditions.push({ riskLevel: { in: filter.riskLevels } });
    return keysetPage(BASE_KEYSET as Keyset<Base>, page, { AND: conditions } as Prisma.BaseWhereInput, {
      find: (args) => this.prisma.base.findMany(args),
      count: (args) => this.prisma.base.count(args),
    });
  }

  /** How many bases the tenant has ever had, deleted ones included. */
  countAllBases(tenantId: string): Promise<number> {
    return this.prisma.base.count({ where: { tenantId } });
  }

  /** The tenant's bases (not deleted) with these names, oldest first, each with its draft's ID and revision. */
  basesNamed(tenantId: string, names: readonly string[]): Promise<{ id: string; name: string; draft: { id: string; revision: number } | null }[]> {
    return this.prisma.base.findMany({
      where: { tenantId, deletedAt: null, name: { in: [...names] } },
      select: { name: true, id: true, draft: { select: { id: true, revision: true } } },
      orderBy: { createdAt: "asc" },
    });
  }

  /** Whether an ID (base or record) names a policy listed for the scope. */
  async isListedPolicy(reader: Reader, scope: ListingScope, id: string): Promise<boolean> {
    // Flow nodes may name a policy by alias too (resolved in the scope's tenant).
    const baseId = isUuid(id) ? await this.baseIdOf(id, reader) : await this.baseIdByAlias(scope.tenantId, id.trim().toLowerCase(), reader);
    if (!baseId) return false;
    return (await reader.base.count({ where: { AND: [{ id: baseId, kind: "POLICY" }, listedWhere(scope)] } })) > 0;
  }

  // ---- aliases ----

  /** The live (not deleted) base of the tenant holding this (case-folded) alias. */
  async baseIdByAlias(tenantId: string, alias: string, reader: Reader = this.prisma): Promise<string | null> {
    const row = await reader.base.findFirst({ where: { tenantId, alias, deletedAt: null }, select: { id: true } });
    return row?.id ?? null;
  }

  /** Many aliases of one tenant in one statement: alias → base ID. */
  async baseIdsByAliases(tenantId: string, aliases: readonly string[], reader: Reader = this.prisma): Promise<Map<string, string>> {
    if (aliases.length === 0) return new Map();
    const rows = await reader.base.findMany({ where: { tenantId, alias: { in: [...aliases] }, deletedAt: null }, select: { id: true, alias: true } });
    return new Map(rows.map((row) => [row.alias!, row.id]));
  }

  /** Live bases of the tenant holding any of these (case-folded) aliases. */
  basesByAliases(tenantId: string, aliases: readonly string[]): Promise<Base[]> {
    if (aliases.length === 0) return Promise.resolve([]);
    return this.prisma.base.findMany({ where: { tenantId, alias: { in: [...aliases] }, deletedAt: null } });
  }

  // ---- dependencies (flow records naming policies) ----

  draftsByIds(ids: readonly string[]): Promise<Draft[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.prisma.draft.findMany({ where: { id: { in: [...ids] } } });
  }

  versionsByIds(ids: readonly string[]): Promise<Version[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.prisma.version.findMany({ where: { id: { in: [...ids] } } });
  }

  /**
   * Drafts and versions of the tenant's live flows whose text mentions any of `needles` (case-insensitive):
   * a cheap pre-filter in SQL; callers parse the candidates to find real node references. Two statements
   * whatever the number of needles. `latestOnly` keeps only each flow's latest version (no drafts).
   */
  async flowRecordsMentioning(
    tenantId: string,
    needles: readonly string[],
    options: { latestOnly: boolean },
    reader: Reader = this.prisma,
  ): Promise<{ drafts: (Draft & { base: Base })[]; versions: (Version & { base: Base })[] }> {
    if (needles.length === 0) return { drafts: [], versions: [] };
    const mentions = needles.map((needle) => ({ content: { contains: needle, mode: "insensitive" as const } }));
    const where = { tenantId, base: { kind: "FLOW" as const, deletedAt: null }, OR: mentions };
    // One after the other: `reader` may be a transaction, whose connection runs one query at a time.
    const drafts = options.latestOnly ? [] : await reader.draft.findMany({ where, include: { base: true } });
    const versions = await reader.version.findMany({ where, include: { base: true }, orderBy: [{ baseId: "asc" }, { number: "desc" }] });
    return { drafts, versions: options.latestOnly ? versions.filter((v) => v.number === v.base.latestVersionNumber) : versions };
  }

  // ---- the execution hot path ----

  /** The latest version of a base, else its draft; null when it has neither or does not exist. */
  async runnableOfBase(baseId: string): Promise<RunnableRow | null> {
    if (!isUuid(baseId)) return null;
    const base = await this.prisma.base.findUnique({
      where: { id: baseId.toLowerCase() },
      include: { draft: true, versions: { orderBy: { number: "desc" }, take: 1 } },
    });
    return base ? latestRunnable(base) : null;
  }

  /** `runnableOfBase` for the live base holding a (case-folded) alias in the tenant. */
  async runnableOfAlias(tenantId: string, alias: string): Promise<RunnableRow | null> {
    const base = await this.prisma.base.findFirst({
      where: { tenantId, alias, deletedAt: null },
      include: { draft: true, versions: { orderBy: { number: "desc" }, take: 1 } },
    });
    return base ? latestRunnable(base) : null;
  }

  /** That exact draft or version. */
  async runnableRecord(recordId: string): Promise<RunnableRow | null> {
    const found = await this.findRecord(recordId);
    if (!found) return null;
    const record = found.version ?? found.draft!;
    return { base: found.base, record: { id: record.id, version: found.version?.number ?? null, content: record.content } };
  }

  // ---- writes (inside the caller's transaction) ----

  createBase(tx: Transaction, data: Prisma.BaseUncheckedCreateInput): Promise<Base> {
    return tx.base.create({ data });
  }

  updateBase(tx: Transaction, baseId: string, data: Prisma.BaseUncheckedUpdateInput): Promise<Base> {
    return tx.base.update({ where: { id: baseId }, data });
  }

  createDraft(tx: Transaction, data: WithJson<Prisma.DraftUncheckedCreateInput>): Promise<Draft> {
    return tx.draft.create({ data: jsonColumns(data) });
  }

  /** Writes the draft's fields and moves it to its next revision. */
  updateDraft(tx: Transaction, draftId: string, data: WithJson<Omit<Prisma.DraftUncheckedUpdateInput, "revision">>): Promise<Draft> {
    return tx.draft.update({ where: { id: draftId }, data: { ...jsonColumns<Prisma.DraftUncheckedUpdateInput>(data), revision: { increment: 1 } } });
  }

  async deleteDraft(tx: Transaction, draftId: string): Promise<void> {
    await tx.draft.delete({ where: { id: draftId } });
  }

  createVersion(tx: Transaction, data: WithJson<Prisma.VersionUncheckedCreateInput>): Promise<Version> {
    return tx.version.create({ data: jsonColumns(data) });
  }
}

function latestRunnable(base: Base & { draft: Draft | null; versions: Version[] }): RunnableRow | null {
  const version = base.versions[0];
  if (version) return { base, record: { id: version.id, version: version.number, content: version.content } };
  if (base.draft) return { base, record: { id: base.draft.id, version: null, content: base.draft.content } };
  return null;
}

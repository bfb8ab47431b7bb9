import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../src/generated/prisma/client.js";
import type { ApiKeyScope, BaseKind, Role } from "../../src/generated/prisma/enums.js";
import { issueApiKey } from "../../src/identity/api-key-format.js";

/**
 * Fluent fixtures: rows written straight to the database for tests whose subject is not how those rows come
 * to be (the lifecycle's own tests go through GraphQL). Start from `fixtures(prisma)`:
 *
 *     const make = fixtures(gateway.database.prisma);
 *     const tenant = await make.tenant().user("pat", "PUBLISHER").user("ada", "ADMIN").create();
 *     const base = await make.base(tenant).ownedBy("pat").versions(AGE_POLICY, ADULT_POLICY).draft(AGE_POLICY).create();
 *     const { key } = await make.key(tenant).scopes("VIEW").create();
 *     const group = await make.group(tenant).members(base.id).create();
 */
export function fixtures(prisma: PrismaClient) {
  return {
    tenant: () => new TenantBuilder(prisma),
    key: (tenant: TenantRef) => new KeyBuilder(prisma, tenant),
    base: (tenant: TestTenant) => new BaseBuilder(prisma, tenant),
    group: (tenant: TestTenant) => new GroupBuilder(prisma, tenant),
  };
}

export type Fixtures = ReturnType<typeof fixtures>;

export interface TestUser {
  id: string;
  subject: string;
  roles: Role[];
}

export interface TestTenant {
  id: string;
  slug: string;
  /** One user per name asked for. */
  users: Record<string, TestUser>;
}

type TenantRef = { id: string } | string;
const tenantIdOf = (tenant: TenantRef) => (typeof tenant === "string" ? tenant : tenant.id);

export class TenantBuilder {
  private readonly users: [string, Role[]][] = [];
  constructor(private readonly prisma: PrismaClient) {}

  /** A user of the tenant with these roles (none: a user without roles); the name keys `tenant.users`. */
  user(name: string, ...roles: Role[]): this {
    this.users.push([name, roles]);
    return this;
  }

  /** Several users at once, `{ name: roles }`. */
  withUsers(users: Record<string, Role[]>): this {
    for (const [name, roles] of Object.entries(users)) this.user(name, ...roles);
    return this;
  }

  async create(): Promise<TestTenant> {
    const slug = `t-${randomBytes(5).toString("hex")}`;
    const tenant = await this.prisma.tenant.create({ data: { slug, name: `Tenant ${slug}` } });
    const created: Record<string, TestUser> = {};
    for (const [name, roles] of this.users) {
      const subject = `${slug}|${name}`;
      const user = await this.prisma.user.create({ data: { tenantId: tenant.id, subject, email: `${name}@${slug}.test`, name, roles } });
      created[name] = { id: user.id, subject, roles };
    }
    return { id: tenant.id, slug, users: created };
  }
}

export class KeyBuilder {
  private data: { scopes: ApiKeyScope[]; expiresAt?: Date; revokedAt?: Date; createdById?: string; name: string } = { scopes: [], name: "test key" };
  constructor(
    private readonly prisma: PrismaClient,
    private readonly tenant: TenantRef,
  ) {}

  scopes(...scopes: ApiKeyScope[]): this {
    this.data.scopes = scopes;
    return this;
  }
  named(name: string): this {
    this.data.name = name;
    return this;
  }
  expiresAt(when: Date): this {
    this.data.expiresAt = when;
    return this;
  }
  /** Expired a second ago. */
  expired(): this {
    return this.expiresAt(new Date(Date.now() - 1000));
  }
  revoked(): this {
    this.data.revokedAt = new Date();
    return this;
  }
  /** The user who issued the key (the key acts on their behalf). */
  issuedBy(userId: string): this {
    this.data.createdById = userId;
    return this;
  }

  async create(): Promise<{ id: string; key: string }> {
    const issued = issueApiKey(tenantIdOf(this.tenant));
    const row = await this.prisma.apiKey.create({
      data: { tenantId: tenantIdOf(this.tenant), prefix: issued.prefix, secretHash: issued.secretHash, ...this.data },
    });
    return { id: row.id, key: issued.key };
  }
}

export interface TestBase {
  id: string;
  kind: BaseKind;
  name: string;
  draftId: string | null;
  /** Version IDs, version 1 first. */
  versionIds: string[];
  /** What runs: the latest version, else the draft. */
  recordId: string;
}

const DEFAULT_CONTENT: Record<BaseKind, string> = { POLICY: "allow when true", FLOW: "nodes: []" };
let baseCounter = 0;

export class BaseBuilder {
  private kind: BaseKind = "POLICY";
  private name?: string;
  private owner?: string;
  private draftContent?: string;
  private versionContents: string[] = [];
  private organisationOwned = false;
  private isDeleted = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly tenant: TestTenant,
  ) {}

  policy(): this {
    this.kind = "POLICY";
    return this;
  }
  flow(): this {
    this.kind = "FLOW";
    return this;
  }
  ofKind(kind: BaseKind): this {
    this.kind = kind;
    return this;
  }
  named(name: string): this {
    this.name = name;
    return this;
  }
  /** The owner (and author of every record): a user's name in the tenant, or a user ID. Default: the tenant's first user. */
  ownedBy(user: string): this {
    this.owner = user;
    return this;
  }
  /** A draft with this content (default: a policy that is always true, or an empty flow). */
  draft(content?: string): this {
    this.draftContent = content ?? DEFAULT_CONTENT[this.kind];
    return this;
  }
  /** Published versions 1, 2, … with these contents; the base is organisation-owned. */
  versions(...contents: string[]): this {
    this.versionContents = contents.length ? contents : [DEFAULT_CONTENT[this.kind]];
    return this;
  }
  /** Organisation-owned and marked published even without versions (for tests of listing and membership only). */
  published(): this {
    this.organisationOwned = true;
    return this;
  }
  /** Soft-deleted by its owner. */
  deleted(): this {
    this.isDeleted = true;
    return this;
  }

  async create(): Promise<TestBase> {
    const { prisma, tenant, kind } = this;
    const ownerId = this.ownerId();
    const name = this.name ?? `${kind.toLowerCase()}-${++baseCounter}`;
    const published = this.organisationOwned || this.versionContents.length > 0;
    const draftContent = this.draftContent ?? (this.versionContents.length ? undefined : DEFAULT_CONTENT[kind]);
    const now = new Date();
    const base = await prisma.base.create({
      data: {
        tenantId: tenant.id,
        kind,
        name,
        ownership: published ? "ORGANISATION_OWNED" : "USER_OWNED",
        ownerId,
        createdById: ownerId,
        updatedById: ownerId,
        latestVersionNumber: this.versionContents.length,
        firstPublishedAt: published ? now : null,
        deletedAt: this.isDeleted ? now : null,
        deletedById: this.isDeleted ? ownerId : null,
      },
    });
    const versionIds: string[] = [];
    for (const [index, content] of this.versionContents.entries()) {
      const version = await prisma.version.create({
        data: { tenantId: tenant.id, baseId: base.id, number: index + 1, content, description: index === 0 ? "first" : `v${index + 1}`, createdById: ownerId },
      });
      versionIds.push(version.id);
    }
    let draftId: string | null = null;
    if (draftContent !== undefined) {
      const draft = await prisma.draft.create({
        data: { tenantId: tenant.id, baseId: base.id, content: draftContent, createdById: ownerId, updatedById: ownerId },
      });
      draftId = draft.id;
    }
    return { id: base.id, kind, name, draftId, versionIds, recordId: versionIds.at(-1) ?? draftId! };
  }

  private ownerId(): string {
    const users = Object.values(this.tenant.users);
    if (this.owner === undefined) {
      if (!users[0]) throw new Error("A base needs an owner: the tenant has no users");
      return users[0].id;
    }
    return this.tenant.users[this.owner]?.id ?? this.owner;
  }
}

export class GroupBuilder {
  private name = `group-${randomBytes(4).toString("hex")}`;
  private description = "";
  private baseIds: string[] = [];
  constructor(
    private readonly prisma: PrismaClient,
    private readonly tenant: TestTenant,
  ) {}

  named(name: string): this {
    this.name = name;
    return this;
  }
  describedAs(description: string): this {
    this.description = description;
    return this;
  }
  members(...baseIds: string[]): this {
    this.baseIds.push(...baseIds);
    return this;
  }

  async create(): Promise<{ id: string; name: string }> {
    const group = await this.prisma.group.create({ data: { tenantId: this.tenant.id, name: this.name, description: this.description } });
    for (const baseId of this.baseIds) await this.prisma.groupMember.create({ data: { groupId: group.id, baseId, tenantId: this.tenant.id } });
    return { id: group.id, name: group.name };
  }
}

/** Shorthand for `fixtures(prisma).tenant().withUsers(users).create()`. */
export const createTenant = (prisma: PrismaClient, users: Record<string, Role[]>): Promise<TestTenant> => new TenantBuilder(prisma).withUsers(users).create();

/** Shorthand for `fixtures(prisma).key(tenant).scopes(...)…create()`. */
export function createApiKey(
  prisma: PrismaClient,
  tenantId: string,
  scopes: ApiKeyScope[],
  extra: { expiresAt?: Date; revokedAt?: Date } = {},
): Promise<{ id: string; key: string }> {
  const builder = new KeyBuilder(prisma, tenantId).scopes(...scopes);
  if (extra.expiresAt) builder.expiresAt(extra.expiresAt);
  if (extra.revokedAt) builder.revoked();
  return builder.create();
}

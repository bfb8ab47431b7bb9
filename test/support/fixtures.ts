import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../src/generated/prisma/client.js";
import type { ApiKeyScope, Role } from "../../src/generated/prisma/enums.js";
import { issueApiKey } from "../../src/identity/api-key-format.js";

export interface TestUser {
  id: string;
  subject: string;
  roles: Role[];
}

export interface TestTenant {
  id: string;
  slug: string;
  /** One user per role asked for, keyed by a name of the caller's choice. */
  users: Record<string, TestUser>;
}

/** Creates a tenant with the given users directly in the database (identity setup is not under test here). */
export async function createTenant(prisma: PrismaClient, users: Record<string, Role[]>): Promise<TestTenant> {
  const slug = `t-${randomBytes(5).toString("hex")}`;
  const tenant = await prisma.tenant.create({ data: { slug, name: `Tenant ${slug}` } });
  const created: Record<string, TestUser> = {};
  for (const [name, roles] of Object.entries(users)) {
    const subject = `${slug}|${name}`;
    const user = await prisma.user.create({
      data: { tenantId: tenant.id, subject, email: `${name}@${slug}.test`, name, roles },
    });
    created[name] = { id: user.id, subject, roles };
  }
  return { id: tenant.id, slug, users: created };
}

export async function createApiKey(
  prisma: PrismaClient,
  tenantId: string,
  scopes: ApiKeyScope[],
  extra: { expiresAt?: Date; revokedAt?: Date } = {},
): Promise<{ id: string; key: string }> {
  const issued = issueApiKey();
  const row = await prisma.apiKey.create({
    data: { tenantId, name: "test key", prefix: issued.prefix, secretHash: issued.secretHash, scopes, ...extra },
  });
  return { id: row.id, key: issued.key };
}

import type { Database } from "../database/database.js";
import { issueApiKey } from "../identity/api-key-format.js";
import type { ApiKeyScope, Role } from "../generated/prisma/enums.js";

export const DEMO_TENANT_SLUG = "demo";

const DEMO_USERS: { role: Role; email: string; name: string }[] = [
  { role: "ADMIN", email: "admin@demo.local", name: "Ada Admin" },
  { role: "PUBLISHER", email: "publisher@demo.local", name: "Pat Publisher" },
  { role: "EDITOR", email: "editor@demo.local", name: "Eddie Editor" },
  { role: "VIEWER", email: "viewer@demo.local", name: "Vic Viewer" },
  { role: "AUDITOR", email: "auditor@demo.local", name: "Aud Auditor" },
];
const DEMO_KEY_SCOPES: ApiKeyScope[] = ["VIEW"];

export interface DemoUser {
  id: string;
  subject: string;
  email: string;
  role: Role;
}

export interface DemoSeed {
  tenantId: string;
  users: DemoUser[];
  /** Only on the start that created it: the key is stored hashed and can never be shown again. */
  apiKey: string | null;
}

/** Creates the demo tenant, one user per role and one API key, once. Later starts find and return them. */
export async function seedDemo(database: Database): Promise<DemoSeed> {
  const { prisma } = database;
  return prisma.$transaction(async (tx) => {
    const existing = await tx.tenant.findUnique({ where: { slug: DEMO_TENANT_SLUG }, include: { users: true } });
    if (existing) {
      const users = existing.users.map((u) => ({ id: u.id, subject: u.subject, email: u.email, role: u.roles[0] ?? "VIEWER" }));
      return { tenantId: existing.id, users, apiKey: null };
    }
    const tenant = await tx.tenant.create({ data: { slug: DEMO_TENANT_SLUG, name: "Demo Organisation" } });
    const users: DemoUser[] = [];
    for (const demo of DEMO_USERS) {
      const subject = `demo|${demo.email}`;
      const user = await tx.user.create({ data: { tenantId: tenant.id, subject, email: demo.email, name: demo.name, roles: [demo.role] } });
      users.push({ id: user.id, subject, email: demo.email, role: demo.role });
    }
    const issued = issueApiKey(tenant.id);
    await tx.apiKey.create({
      data: { tenantId: tenant.id, name: "Demo execution key", prefix: issued.prefix, secretHash: issued.secretHash, scopes: DEMO_KEY_SCOPES },
    });
    return { tenantId: tenant.id, users, apiKey: issued.key };
  });
}

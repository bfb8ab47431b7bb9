import type { Database } from "../../database/database.js";
import { unauthenticated } from "../../errors/domain-error.js";
import type { Principal } from "../../identity/principal.js";
import { CredentialKind, type Viewer } from "./viewer.type.js";

export class ViewerService {
  constructor(private readonly database: Database) {}

  async viewer(principal: Principal): Promise<Viewer> {
    const { prisma } = this.database;
    const [tenant, user] = await Promise.all([
      prisma.tenant.findUnique({ where: { id: principal.tenantId }, select: { id: true, slug: true, name: true } }),
      principal.kind === "user"
        ? prisma.user.findUnique({ where: { id: principal.userId }, select: { id: true, email: true, name: true, roles: true } })
        : Promise.resolve(null),
    ]);
    if (!tenant) throw unauthenticated("The credential's tenant no longer exists");
    return {
      credential: principal.kind === "user" ? CredentialKind.USER : CredentialKind.API_KEY,
      tenant,
      user,
      scopes: principal.kind === "apiKey" ? [...principal.scopes] : [],
    };
  }
}

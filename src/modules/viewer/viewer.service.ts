import type { Database } from "../../database/database.js";
import { unauthenticated } from "../../errors/domain-error.js";
import type { Principal } from "../../identity/principal.js";
import { CredentialKind, type Tenant, type User, type Viewer } from "./viewer.type.js";

export class ViewerService {
  constructor(private readonly database: Database) {}

  /** What the credential itself says; the tenant and user are read only when asked for. */
  viewer(principal: Principal): Viewer {
    return {
      credential: principal.kind === "user" ? CredentialKind.USER : CredentialKind.API_KEY,
      scopes: principal.kind === "apiKey" ? [...principal.scopes] : [],
    };
  }

  async tenant(principal: Principal): Promise<Tenant> {
    const tenant = await this.database.prisma.tenant.findUnique({ where: { id: principal.tenantId }, select: { id: true, slug: true, name: true } });
    if (!tenant) throw unauthenticated("The credential's tenant no longer exists");
    return tenant;
  }

  async user(principal: Principal): Promise<User | null> {
    if (principal.kind !== "user") return null;
    return this.database.prisma.user.findUnique({ where: { id: principal.userId }, select: { id: true, email: true, name: true, roles: true } });
  }
}

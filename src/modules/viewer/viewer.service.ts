import { unauthenticated } from "../../errors/domain-error.js";
import type { Principal } from "../../identity/principal.js";
import type { IdentityStore } from "../../stores/identity.store.js";
import type { TenantStore } from "../../stores/tenant.store.js";
import { CredentialKind, type Tenant, type User, type Viewer } from "./viewer.type.js";

export class ViewerService {
  constructor(
    private readonly tenants: TenantStore,
    private readonly identities: IdentityStore,
  ) {}

  /** What the credential itself says; the tenant and user are read only when asked for. */
  viewer(principal: Principal): Viewer {
    return {
      credential: principal.kind === "user" ? CredentialKind.USER : CredentialKind.API_KEY,
      scopes: principal.kind === "apiKey" ? [...principal.scopes] : [],
    };
  }

  async tenant(principal: Principal): Promise<Tenant> {
    const tenant = await this.tenants.find(principal.tenantId);
    if (!tenant) throw unauthenticated("The credential's tenant no longer exists");
    return tenant;
  }

  async user(principal: Principal): Promise<User | null> {
    if (principal.kind !== "user") return null;
    return this.identities.userInTenant(principal.tenantId, principal.userId);
  }
}

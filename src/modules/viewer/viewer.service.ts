import { unauthenticated } from "../../errors/domain-error.js";
import type { TenantActor } from "../../identity/actor.js";
import type { IdentityStore } from "../../stores/identity.store.js";
import type { TenantStore } from "../../stores/tenant.store.js";
import { CredentialKind, type Tenant, type User, type Viewer } from "./viewer.type.js";

export class ViewerService {
  constructor(
    private readonly tenants: TenantStore,
    private readonly identities: IdentityStore,
  ) {}

  /** What the credential itself says; the tenant and user are read only when asked for. */
  viewer(actor: TenantActor): Viewer {
    return {
      credential: actor.kind === "user" ? CredentialKind.USER : CredentialKind.API_KEY,
      scopes: actor.kind === "apiKey" ? [...actor.scopes] : [],
    };
  }

  async tenant(actor: TenantActor): Promise<Tenant> {
    const tenant = await this.tenants.find(actor.tenantId);
    if (!tenant) throw unauthenticated("The credential's tenant no longer exists");
    return tenant;
  }

  async user(actor: TenantActor): Promise<User | null> {
    if (actor.kind !== "user") return null;
    return this.identities.userInTenant(actor.tenantId, actor.userId);
  }
}

import type { Principal } from "../identity/principal.js";
import type { Services } from "../services.js";

export interface GraphQLContext {
  requestId: string;
  principal: Principal | null;
  services: Services;
}

import { SignJWT, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";

/** Only these algorithms are accepted, so a token cannot pick a weaker one (or "none"). */
const LOCAL_ALGORITHMS = ["HS256"];
const JWKS_ALGORITHMS = ["RS256", "ES256", "EdDSA"];

export interface TokenSettings {
  issuer: string;
  audience: string;
  secret?: string;
  jwksUrl?: string;
}

/**
 * The claim that names a token's tenant (its ID). It routes the request to the tenant's database without a
 * lookup elsewhere (src/database/README.md, "Dedicated tenants"); a token without it is looked up in the shared
 * database only, so a dedicated tenant's users need it.
 */
export const TENANT_CLAIM = "tenant";

export interface VerifiedToken {
  subject: string;
  /** The tenant claim, when the token carries one (a UUID). */
  tenantId: string | null;
}

export interface TokenVerifier {
  /** Returns the subject (and tenant claim) of a valid token; throws on any invalid one. */
  verify(token: string): Promise<VerifiedToken>;
}

export function createTokenVerifier(settings: TokenSettings): TokenVerifier {
  // A token without an expiry would be valid forever once leaked; every issuer worth trusting sets one.
  const common = { issuer: settings.issuer, audience: settings.audience, clockTolerance: 5, requiredClaims: ["exp"] };
  if (settings.jwksUrl) {
    const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(settings.jwksUrl));
    return rememberVerified(async (token) => (await jwtVerify(token, keys, { ...common, algorithms: JWKS_ALGORITHMS })).payload);
  }
  if (!settings.secret) throw new Error("Token verification needs AUTH_JWT_SECRET or AUTH_JWKS_URL");
  // Imported once: handing jose the raw bytes would import the key again on every verification.
  const key = crypto.subtle.importKey("raw", new TextEncoder().encode(settings.secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  return rememberVerified(async (token) => (await jwtVerify(token, await key, { ...common, algorithms: LOCAL_ALGORITHMS })).payload);
}

/** How long a verified token is trusted without checking its signature again (never past its expiry). */
const VERIFIED_TTL_MS = 5 * 60_000;
const VERIFIED_MAX = 10_000;

/**
 * A client sends the same token with every request; its signature, issuer and audience cannot change, so a
 * successful verification is remembered until the token expires (at most VERIFIED_TTL_MS). Only the
 * subject is remembered: who the user is and what roles they hold are still read on every request. Failures
 * are never remembered.
 */
function rememberVerified(verify: (token: string) => Promise<{ sub?: string; exp?: number; [claim: string]: unknown }>): TokenVerifier {
  const verified = new Map<string, { token: VerifiedToken; until: number }>();
  return {
    async verify(token) {
      const now = Date.now();
      const hit = verified.get(token);
      if (hit && hit.until > now) return hit.token;
      if (hit) verified.delete(token);
      const payload = await verify(token);
      const result = { subject: subjectOf(payload), tenantId: tenantOf(payload) };
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, { token: result, until: Math.min(payload.exp! * 1000, now + VERIFIED_TTL_MS) });
      return result;
    },
  };
}

function subjectOf(payload: { sub?: string }): string {
  if (!payload.sub) throw new Error("token has no subject");
  return payload.sub;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tenant claim that is not a tenant ID makes the token invalid rather than silently unrouted. */
function tenantOf(payload: Record<string, unknown>): string | null {
  const claim = payload[TENANT_CLAIM];
  if (claim === undefined) return null;
  if (typeof claim !== "string" || !UUID.test(claim)) throw new Error("the tenant claim is not a tenant ID");
  return claim.toLowerCase();
}

/** Mints a token signed with the local secret (embedded mode, tests and the CLI). */
export async function signLocalToken(
  settings: Required<Pick<TokenSettings, "issuer" | "audience" | "secret">>,
  subject: string,
  expiresIn = "30d",
  tenantId?: string,
): Promise<string> {
  return new SignJWT(tenantId ? { [TENANT_CLAIM]: tenantId } : {})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(settings.secret));
}

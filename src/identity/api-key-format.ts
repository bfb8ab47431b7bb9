import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys look like `vdk_<prefix>_<secret><check>`: a recognisable marker, a public lookup prefix,
 * 32 random bytes of secret, and a 6-character checksum so a mistyped key fails before any lookup.
 * Only a hash of the whole key is stored.
 */
const MARKER = "vdk";
const KEY_PATTERN = /^vdk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{6})$/;

export interface IssuedKey {
  key: string;
  prefix: string;
  secretHash: string;
}

export function issueApiKey(): IssuedKey {
  const prefix = randomBytes(9).toString("base64url").replace(/[-_]/g, "x").slice(0, 12);
  const secret = randomBytes(32).toString("base64url");
  const body = `${MARKER}_${prefix}_${secret}`;
  const key = `${body}${checksum(body)}`;
  return { key, prefix, secretHash: hashApiKey(key) };
}

/** The lookup prefix of a well-formed key with a valid checksum, else null. */
export function parseApiKey(key: string): { prefix: string } | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const [, prefix, secret, check] = match as unknown as [string, string, string, string];
  if (checksum(`${MARKER}_${prefix}_${secret}`) !== check) return null;
  return { prefix };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const actual = Buffer.from(hashApiKey(key), "hex");
  const expected = Buffer.from(storedHash, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function checksum(body: string): string {
  return createHash("sha256").update(body).digest("base64url").slice(0, 6);
}

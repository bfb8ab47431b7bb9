import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys look like `vdk_<tenant>_<prefix>_<secret><check>`: a recognisable marker, the tenant's ID (32 hex
 * digits, the routing hint that names the database to look the key up in without asking any other), a public
 * lookup prefix, 32 random bytes of secret, and a 6-character checksum so a mistyped key fails before any
 * lookup. Only a hash of the whole key is stored. Keys issued before the routing hint existed
 * (`vdk_<prefix>_<secret><check>`) still parse, without a tenant: they are looked up in the shared database.
 */
const MARKER = "vdk";
const KEY_PATTERN = /^vdk_(?:([0-9a-f]{32})_)?([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{6})$/;

export interface IssuedKey {
  key: string;
  prefix: string;
  secretHash: string;
}

/** A new key; with `prefix`, a new secret for the key row that already has that public prefix. */
export function issueApiKey(tenantId: string, prefix = randomBytes(9).toString("base64url").replace(/[-_]/g, "x").slice(0, 12)): IssuedKey {
  const secret = randomBytes(32).toString("base64url");
  const body = `${MARKER}_${tenantId.replaceAll("-", "").toLowerCase()}_${prefix}_${secret}`;
  const key = `${body}${checksum(body)}`;
  return { key, prefix, secretHash: hashApiKey(key) };
}

export interface ParsedApiKey {
  prefix: string;
  tenantId: string | null;
}

/**
 * Keys parsed lately, with their answer: every request of a busy key is parsed twice (routing, then
 * authentication), each time a pattern match and a SHA-256 checksum. Bounded; a full memory starts afresh.
 */
const parsedKeys = new Map<string, ParsedApiKey>();
const MAX_PARSED_KEYS = 1_000;

/** The lookup prefix (and tenant, when the key names one) of a well-formed key with a valid checksum, else null. */
export function parseApiKey(key: string): ParsedApiKey | null {
  const known = parsedKeys.get(key);
  if (known !== undefined) return known;
  const parsed = parse(key);
  if (parsed === null) return null; // garbage is not remembered: it could only crowd out real keys
  if (parsedKeys.size >= MAX_PARSED_KEYS) parsedKeys.clear();
  parsedKeys.set(key, parsed);
  return parsed;
}

function parse(key: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const [, tenant, prefix, secret, check] = match as unknown as [string, string | undefined, string, string, string];
  if (checksum(`${MARKER}_${tenant ? `${tenant}_` : ""}${prefix}_${secret}`) !== check) return null;
  return { prefix, tenantId: tenant ? uuidOf(tenant) : null };
}

const uuidOf = (hex: string): string => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const actual = Buffer.from(hashApiKey(key), "hex");
  const expected = Buffer.from(storedHash, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function checksum(body: string): string {
  return hash("sha256", body, "base64url").slice(0, 6);
}

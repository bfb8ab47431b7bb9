import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";

/**
 * A tenant's database binding, as the registry row (`tenants.database_binding`) stores it. The row never holds
 * a connection string in plain text:
 * - `env:VAR`         the URL is in the gateway's environment variable VAR;
 * - `file:/abs/path`  the URL is the content of that file (a mounted secret), trimmed;
 * - `enc:v1:<b64url>` the URL encrypted with AES-256-GCM under the key in `VERDICT_BINDING_KEY` (32 bytes,
 *                     base64 or hex), with the tenant's ID as additional data, so a value copied into another
 *                     tenant's row does not decrypt.
 * Errors never carry the resolved URL or the ciphertext: they name the reference only.
 */
export type BindingReference = { kind: "env"; variable: string } | { kind: "file"; path: string } | { kind: "encrypted"; payload: string };

export const BINDING_KEY_VARIABLE = "VERDICT_BINDING_KEY";

const ENV_PATTERN = /^env:([A-Za-z_][A-Za-z0-9_]{0,127})$/;
const FILE_PATTERN = /^file:(\/[^\0]{1,1000})$/;
const ENCRYPTED_PATTERN = /^enc:v1:([A-Za-z0-9_-]{40,2000})$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why a binding cannot be used; the message is safe to log and to show (it holds no secret). */
export class BindingError extends Error {
  override name = "BindingError";
}

export function parseBinding(binding: string): BindingReference {
  const env = ENV_PATTERN.exec(binding);
  if (env) return { kind: "env", variable: env[1]! };
  const file = FILE_PATTERN.exec(binding);
  if (file) return { kind: "file", path: file[1]! };
  const encrypted = ENCRYPTED_PATTERN.exec(binding);
  if (encrypted) return { kind: "encrypted", payload: encrypted[1]! };
  throw new BindingError("The binding is not env:VAR, file:/absolute/path or enc:v1:… (a connection string is never stored in plain text)");
}

/** What can be shown of a binding: the reference itself, or `encrypted` for an encrypted value. */
export function describeBinding(binding: string): string {
  try {
    const reference = parseBinding(binding);
    switch (reference.kind) {
      case "env":
        return `env:${reference.variable}`;
      case "file":
        return `file:${reference.path}`;
      case "encrypted":
        return "encrypted";
    }
  } catch {
    return "invalid";
  }
}

/** The Postgres URL a binding names, read now from the environment, the file or the ciphertext. */
export async function resolveBinding(binding: string, tenantId: string, env: NodeJS.ProcessEnv): Promise<string> {
  const reference = parseBinding(binding);
  let url: string | undefined;
  switch (reference.kind) {
    case "env":
      url = env[reference.variable];
      if (!url) throw new BindingError(`The environment variable ${reference.variable} named by the binding is not set`);
      break;
    case "file":
      try {
        url = (await readFile(reference.path, "utf8")).trim();
      } catch (error) {
        throw new BindingError(`The secrets file ${reference.path} named by the binding cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      }
      break;
    case "encrypted":
      url = decrypt(reference.payload, tenantId, bindingKey(env));
      break;
  }
  if (!isPostgresUrl(url)) throw new BindingError(`The secret named by the binding (${describeBinding(binding)}) is not a postgres:// URL`);
  return url;
}

/** `enc:v1:…` for a URL, under the key in VERDICT_BINDING_KEY, tied to the tenant. */
export function encryptBinding(url: string, tenantId: string, env: NodeJS.ProcessEnv): string {
  if (!isPostgresUrl(url)) throw new BindingError("Only a postgres:// URL can be encrypted into a binding");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", bindingKey(env), iv);
  cipher.setAAD(Buffer.from(tenantId.toLowerCase()));
  const body = Buffer.concat([cipher.update(url, "utf8"), cipher.final()]);
  return `enc:v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}

function decrypt(payload: string, tenantId: string, key: Buffer): string {
  const bytes = Buffer.from(payload, "base64url");
  if (bytes.length <= IV_BYTES + TAG_BYTES) throw new BindingError("The encrypted binding is truncated");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(tenantId.toLowerCase()));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new BindingError(`The encrypted binding does not decrypt with ${BINDING_KEY_VARIABLE} for this tenant`);
  }
}

function bindingKey(env: NodeJS.ProcessEnv): Buffer {
  const text = env[BINDING_KEY_VARIABLE];
  if (!text) throw new BindingError(`${BINDING_KEY_VARIABLE} is not set: encrypted bindings cannot be read`);
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
  if (key.length !== 32) throw new BindingError(`${BINDING_KEY_VARIABLE} must hold 32 bytes (64 hex digits or base64)`);
  return key;
}

function isPostgresUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "postgres:" || parsed.protocol === "postgresql:";
  } catch {
    return false;
  }
}

import { z } from "zod";

/**
 * All settings come from the environment, validated once at start-up so a typo fails loudly instead of
 * running with a silent default.
 */
const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** The gRPC execution service (src/grpc/README.md) listens on HOST at this port; unset ⇒ no gRPC server. 0 picks a free port. */
  GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Unset ⇒ embedded Postgres (PGlite) in DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default(".data"),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** How long a health check waits for the database before reporting it unavailable. */
  DATABASE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  /**
   * How long a request may queue for a pooled connection when all are busy. A stopped server is reported
   * at once (connection refused); this bound is for a saturated pool or an unresponsive network.
   */
  DATABASE_POOL_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  AUTH_ISSUER: z.string().default("verdict"),
  AUTH_AUDIENCE: z.string().default("verdict-api"),
  /** HMAC secret for locally signed tokens; the embedded mode generates and keeps one in DATA_DIR. */
  AUTH_JWT_SECRET: z.string().min(32).optional(),
  /** Production: verify tokens against the issuer's keys instead of a local secret. */
  AUTH_JWKS_URL: z.string().url().optional(),
  /** Largest request body (REST, GraphQL) and largest gRPC request message. */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(50 * 1024 * 1024)
    .default(1024 * 1024),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  SEED_DEMO: z.enum(["auto", "always", "never"]).default("auto"),
  /** REST execution routes: requests per API key and minute, shared by all gateway processes. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(6_000),
  /** REST execution routes: requests per client IP and minute that carry no valid API key. */
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(600),
  /**
   * Wall-clock bound on one policy evaluation, checked cooperatively behind the step budget (engine README,
   * "Bounded work"); an evaluation over it stops with an evaluation error naming this setting.
   */
  EVALUATION_DEADLINE_MS: z.coerce.number().int().min(10).max(60_000).default(100),
  /** Dedicated tenants (src/database/README.md): pooled connections per tenant database (each also holds one LISTEN connection). */
  TENANT_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(3),
  /**
   * Connections this process may hold to dedicated tenant databases together, listening connections included.
   * Tenant databases are opened on demand and the least recently used idle one is closed to make room.
   */
  TENANT_DATABASE_MAX_CONNECTIONS: z.coerce.number().int().min(2).max(10_000).default(100),
  /** A tenant database unused this long has its pool and listener closed. */
  TENANT_DATABASE_IDLE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** How often a served tenant database's identity row and migrations are checked again. */
  TENANT_DATABASE_RECHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Migrate every bound tenant database at start-up (a database that fails is not served; the others are). */
  TENANT_DATABASE_MIGRATE_ON_START: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  /** Worker threads for expensive evaluations; unset: all cores but one (at least one). */
  EVALUATION_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * Gateway processes serving one port (node:cluster); more than one needs a Postgres server (DATABASE_URL),
   * since the embedded database lives inside one process. Each process has its own pool of
   * DATABASE_POOL_SIZE connections.
   */
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
});

export type Config = z.infer<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

export const isProduction = (config: Config): boolean => config.NODE_ENV === "production";

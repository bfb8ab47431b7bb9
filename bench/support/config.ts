import { type Config, loadConfig } from "../../src/config.js";
import type { Gateway } from "../../src/gateway.js";
import type { Role } from "../../src/generated/prisma/enums.js";
import { signLocalToken } from "../../src/identity/tokens.js";

/** The token secret of every benchmark gateway, in this process or a child (spawn-gateway.ts). */
export const BENCH_SECRET = "bench-secret-bench-secret-bench-secret-0123456789";

/**
 * Production settings (but a generous evaluation deadline) on the benchmark's database, logging off. Rate limits count every request but are
 * never reached, so the benchmarks include the limiter's cost without being cut short by it.
 */
export function benchConfig(databaseUrl: string): Config {
  return loadConfig({
    NODE_ENV: "production",
    PORT: "0",
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: BENCH_SECRET,
    LOG_LEVEL: "silent",
    RATE_LIMIT_PER_MINUTE: "100000000",
    RATE_LIMIT_PER_IP_PER_MINUTE: "100000000",
    // On a loaded machine the 100 ms wall-clock bound stops ordinary evaluations (the first one of a 1 MB
    // input also starts the worker pool); the benchmarks measure the work, not the bound.
    EVALUATION_DEADLINE_MS: "10000",
  });
}

/** A bearer token for `subject`, signed as the gateway of `benchConfig` expects. */
export const benchToken = (config: Config, subject: string): Promise<string> =>
  signLocalToken({ secret: BENCH_SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }, subject);

/** A fresh tenant with one user holding `role`, and that user's bearer token: every benchmark's starting point. */
export async function benchUser(gateway: Gateway, config: Config, role: Role): Promise<{ tenantId: string; userId: string; token: string }> {
  const { prisma } = gateway.database;
  const tenant = await prisma.tenant.create({ data: { slug: `bench-${Date.now()}`, name: "Bench" } });
  const user = await prisma.user.create({
    data: { tenantId: tenant.id, subject: `bench|${tenant.id}`, email: "bench@bench.test", name: "Bench", roles: [role] },
  });
  return { tenantId: tenant.id, userId: user.id, token: await benchToken(config, user.subject) };
}

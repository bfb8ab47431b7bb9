import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";
import type { Config } from "../config.js";
import type { Database } from "../database/database.js";
import { RateLimitStore } from "../stores/rate-limit.store.js";
import { DomainError, DomainErrorCode, unauthenticated } from "../errors/domain-error.js";
import type { TenantActor } from "../identity/actor.js";

/** Express's `trust proxy: loopback`: X-Forwarded-For counts only when a loopback proxy sent it. */
const trustLoopback = proxyAddr.compile("loopback");

/** An HTTP client's address, for limits on requests without a valid credential. */
export const clientAddressOf = (req: IncomingMessage): string => proxyAddr(req, trustLoopback);

type Limits = Pick<Config, "RATE_LIMIT_PER_MINUTE" | "RATE_LIMIT_PER_IP_PER_MINUTE">;

/** An authenticated request, with the limiter of the database that serves its tenant (src/tenant-routing.ts). */
export interface CountedRequest {
  actor: TenantActor;
  limiter: RateLimiter;
  /** Done with the tenant's database (a failed count releases it here). */
  release(): void;
}

/** Authenticates the credential in the headers: null when none was sent. */
export interface CredentialRouter<R extends CountedRequest> {
  route(headers: IncomingHttpHeaders, arrivedAt?: bigint): Promise<R | null>;
}

/**
 * Authenticates a request and counts it, GraphQL, REST or gRPC alike: against its API key's or user's
 * allowance in its tenant's database, or — with no credential, or a bad one (so guessing keys uses it up) — its
 * client address's in the shared database (asked only then, so the common case does not compute it). Throws
 * UNAUTHENTICATED from `authenticate`, or RATE_LIMITED (429) when the allowance is used up.
 */
export async function authenticateAndCount<R extends CountedRequest>(
  limiter: RateLimiter,
  limits: Limits,
  clientAddress: () => string,
  authenticate: () => Promise<R | null>,
): Promise<R | null> {
  let routed: R | null;
  try {
    routed = await authenticate();
  } catch (error) {
    if (error instanceof DomainError && error.code === DomainErrorCode.Unauthenticated) await countByAddress(limiter, limits, clientAddress);
    throw error;
  }
  if (!routed) {
    await countByAddress(limiter, limits, clientAddress);
    return null;
  }
  const { actor } = routed;
  try {
    await routed.limiter.enforce(actor.kind === "apiKey" ? `key:${actor.apiKeyId}` : `user:${actor.userId}`, limits.RATE_LIMIT_PER_MINUTE);
  } catch (error) {
    routed.release();
    throw error;
  }
  return routed;
}

const countByAddress = (limiter: RateLimiter, limits: Limits, clientAddress: () => string) =>
  limiter.enforce(`ip:${clientAddress()}`, limits.RATE_LIMIT_PER_IP_PER_MINUTE);

/**
 * How execution clients (the REST shim and the gRPC service) authenticate: with an API key only — a bearer
 * token is not a key — counted like any request. The key comes from the `x-api-key` header or metadata entry.
 */
export async function authenticateExecutionClient<R extends CountedRequest>(
  limiter: RateLimiter,
  limits: Limits,
  router: CredentialRouter<R>,
  apiKey: unknown,
  clientAddress: () => string,
  arrivedAt?: bigint,
): Promise<R> {
  const routed = await authenticateAndCount(limiter, limits, clientAddress, async () => {
    if (typeof apiKey !== "string" || apiKey.trim() === "") return null;
    return router.route({ "x-api-key": apiKey }, arrivedAt);
  });
  if (!routed) throw unauthenticated("An API key is required in the x-api-key header");
  return routed;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Whole seconds until the current window ends (≥ 1). */
  retryAfterSeconds: number;
}

interface Window {
  start: number;
  /** Requests this process may still let through in this window, already counted in the database. */
  available: number;
  /** The database said the window is used up: refuse without asking again until it ends. */
  exhausted: boolean;
  leasing: Promise<void> | null;
}

const MAX_LEASE = 100;

const shareFor = (limit: number): number => Math.max(1, Math.min(MAX_LEASE, Math.floor(limit / 100)));

/**
 * Fixed-window request limits shared by every gateway process through the `rate_limit_windows` table.
 *
 * Counting each request with its own `INSERT … ON CONFLICT … DO UPDATE SET count = count + 1` would put a
 * database round trip (and a row lock on a hot row) on every request. Instead a process *leases* a small
 * share of a window's allowance with one atomic upsert-increment (`count = count + lease RETURNING count`),
 * serves that many requests from memory, and leases again when it runs out. What the database counts is
 * therefore what was handed out, so all processes together never let more than `limit` requests through in
 * a window; a lease that is not used up before the window ends is simply lost (at most `lease` requests per
 * process and window). Leases are `limit / 100`, capped at `MAX_LEASE`, so a small limit (as in tests) is
 * counted request by request, and the default of 6000/min costs one upsert per 60 requests.
 * Concurrent requests of one process wait on a single lease in flight instead of each starting one, and a
 * share is renewed in the background once half of it is used, so requests rarely wait for the database.
 * Rows of past windows are deleted by whichever process first enters a new window.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private cleanedWindow = 0;
  private leaseCount = 0;
  private readonly store: RateLimitStore;

  constructor(
    database: Database,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new RateLimitStore(database);
  }

  /** Upserts made so far (for tests and the benchmark). */
  get leases(): number {
    return this.leaseCount;
  }

  /** Counts one request against `key`'s allowance of `limit` per window. */
  async take(key: string, limit: number): Promise<RateLimitDecision> {
    for (;;) {
      const now = this.now();
      const start = now - (now % this.windowMs);
      let window = this.windows.get(key);
      if (!window || window.start !== start) {
        if (start !== this.cleanedWindow) this.cleanUp(start);
        window = { start, available: 0, exhausted: false, leasing: null };
        this.windows.set(key, window);
      }
      if (window.available > 0) {
        window.available -= 1;
        // Lease the next share while half of this one is left, so that requests do not queue behind a round
        // trip whenever a share runs out. Shares of one (small limits) are never leased ahead: that would
        // take allowance another process may need.
        const share = shareFor(limit);
        if (share > 1 && window.available <= share / 2 && !window.leasing && !window.exhausted) {
          window.leasing = this.lease(key, window, limit)
            .catch(() => {
              // Ahead of need: a failure here shows again, to a request, when the share is used up.
            })
            .finally(() => (window.leasing = null));
        }
        return { allowed: true, retryAfterSeconds: 0 };
      }
      if (window.exhausted) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((start + this.windowMs - now) / 1000)) };
      }
      window.leasing ??= this.lease(key, window, limit).finally(() => (window.leasing = null));
      await window.leasing;
    }
  }

  /** Throws RATE_LIMITED (429) when `key` is over its limit. */
  async enforce(key: string, limit: number): Promise<void> {
    const decision = await this.take(key, limit);
    if (!decision.allowed) {
      throw new DomainError(DomainErrorCode.RateLimited, `Too many requests; retry in ${decision.retryAfterSeconds} s`, {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
  }

  private async lease(key: string, window: Window, limit: number): Promise<void> {
    const lease = shareFor(limit);
    this.leaseCount += 1;
    const counted = await this.store.lease(key, new Date(window.start), lease);
    const granted = Math.max(0, Math.min(lease, limit - (counted - lease)));
    window.available += granted;
    if (counted >= limit) window.exhausted = true;
  }

  /** Forgets past windows here and in the database (rows two windows old can no longer matter). */
  private cleanUp(currentStart: number): void {
    this.cleanedWindow = currentStart;
    for (const [key, window] of this.windows) if (window.start < currentStart) this.windows.delete(key);
    const before = new Date(currentStart - this.windowMs);
    this.store.deleteWindowsBefore(before).catch(() => {
      // Best effort: the next window's first request tries again.
    });
  }
}

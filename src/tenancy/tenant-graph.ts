import type { Database } from "../database/database.js";
import { RateLimiter } from "../http/rate-limit.js";
import { createAuthenticator, type Authenticator } from "../identity/authenticate.js";
import type { TokenVerifier } from "../identity/tokens.js";
import type { Evaluator, EvaluatorOptions } from "../modules/execution/evaluator.js";
import { createServices, type Services } from "../services.js";

/**
 * Everything that serves requests from one database: the shared database's graph, or a dedicated tenant's.
 * Each has its own stores, caches (subscribed to that database's announcements), audit batcher, rate-limit
 * windows and key cache, so every guarantee of the shared database holds per database. Process-wide pieces —
 * the evaluator's worker pool, metrics, the token verifier — are passed in and shared.
 */
export interface TenantGraph {
  database: Database;
  services: Services;
  authenticator: Authenticator;
  /** Rate-limit windows live in the graph's database, so the gateways serving one tenant share them. */
  rateLimiter: RateLimiter;
  /** Stops listening, flushes the audit batch and closes the database; the shared evaluator stays open. */
  close(): Promise<void>;
}

export async function startTenantGraph(database: Database, tokens: TokenVerifier, evaluation: Evaluator | EvaluatorOptions): Promise<TenantGraph> {
  const services = createServices(database, undefined, evaluation);
  const authenticator = createAuthenticator(database, tokens);
  const graph: TenantGraph = {
    database,
    services,
    authenticator,
    rateLimiter: new RateLimiter(database),
    async close() {
      await services.live.stop();
      await services.shadowRunner.stop(); // evaluates what is queued and writes its counts
      await services.runnables.stop();
      await services.inputRecorder.stop();
      await services.executionAudit.close();
      await database.close();
    },
  };
  try {
    await services.runnables.start();
    await services.inputRecorder.start();
    await services.shadowRunner.start();
    await services.live.start();
  } catch (error) {
    await graph.close().catch(() => {});
    throw error;
  }
  return graph;
}

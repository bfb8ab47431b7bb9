import { Router } from "express";
import type { Database } from "../database/database.js";

/**
 * `/healthz` says the process is alive; `/readyz` says it can serve: the database answers within the
 * timeout and every migration this build ships has been applied.
 */
export function healthRoutes(database: Database, expectedMigrations: readonly string[], timeoutMs: number): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    try {
      await database.ping(timeoutMs);
      const applied = new Set(await database.appliedMigrations());
      const pending = expectedMigrations.filter((name) => !applied.has(name));
      if (pending.length > 0) {
        res.status(503).json({ status: "unready", reason: "migrations pending", pending });
        return;
      }
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "unready", reason: "database unavailable" });
    }
  });
  return router;
}

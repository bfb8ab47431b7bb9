import cluster from "node:cluster";
import { loadConfig } from "./config.js";
import type { Database } from "./database/database.js";
import type { DemoSeed } from "./demo/seed.js";
import type { Gateway } from "./gateway.js";
import { createLogger } from "./logging.js";
import { startTracing } from "./telemetry/start.js";
import { superviseWorkers, WORKER_READY, workersRefusal } from "./workers.js";

const config = loadConfig();
const supervising = config.WORKERS > 1 && cluster.isPrimary;
// Before anything else, so every request span and log line of a serving process can be traced (off by default;
// the primary of a cluster serves nothing, so traces nothing).
const tracing = supervising ? null : await startTracing();
const logger = createLogger(config.LOG_LEVEL, tracing?.logFields);

const refusal = workersRefusal(config);
if (refusal) {
  logger.fatal(refusal);
  process.stderr.write(`${refusal}\n`);
  process.exit(1);
}

if (supervising) superviseWorkers(config, logger);
else await serve();

async function serve(): Promise<void> {
  try {
    // The database starts opening first and the gateway (GraphQL schema, HTTP app, services) is imported while it
    // opens: with a Postgres server, connecting and checking migrations is I/O that overlaps the module loading.
    // The embedded PGlite opens on this same thread, so there the overlap measured as no gain (README, bench:start).
    const { openDatabaseFor } = await import("./database/open.js");
    const opening: Promise<Database> = openDatabaseFor(config, logger);
    opening.catch(() => {}); // awaited (and reported) by startGateway; not an unhandled rejection meanwhile
    const { startGateway } = await import("./gateway.js");
    const gateway = await startGateway(config, logger, {}, process.env, opening);
    const embedded = !config.DATABASE_URL;
    // In a cluster only the first worker seeds, so that the demo content is created and printed once.
    const seeder = !cluster.worker || cluster.worker.id === 1;
    if (seeder && (config.SEED_DEMO === "always" || (config.SEED_DEMO === "auto" && embedded))) {
      // The demo modules load only where they are used, after the gateway serves.
      const [{ seedDemo }, { seedDemoContentOnce }] = await Promise.all([import("./demo/seed.js"), import("./demo/demo-content.js")]);
      const seed = await seedDemo(gateway.database);
      const content = await seedDemoContentOnce(gateway.services, seed);
      if (content) logger.info({ tenantId: seed.tenantId }, "demo content created: policies, a flow, a pending draft, groups");
      await printDemoAccess(gateway, seed);
    }
    logger.info({ url: gateway.url, grpc: gateway.grpcAddress ?? undefined, database: gateway.database.kind }, "gateway started");
    process.send?.(WORKER_READY);

    let stopping = false;
    const shutdown = (signal: string): void => {
      // Ctrl-C reaches a worker twice: from the terminal and from its primary.
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down: draining in-flight requests");
      gateway
        .close()
        // Spans still buffered are exported before the process leaves.
        .then(() => tracing?.shutdown())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, "shutdown failed");
            process.exit(1);
          },
        );
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  } catch (error) {
    logger.fatal({ err: error }, "gateway failed to start");
    process.exit(1);
  }
}
async function printDemoAccess(gateway: Gateway, seed: DemoSeed): Promise<void> {
  const { signLocalToken } = await import("./identity/tokens.js");
  const { secret, issuer, audience } = gateway.tokenSettings;
  const lines = ["", `Verdict is running. GraphiQL: ${gateway.url}/graphql`, "In GraphiQL's Headers tab, authenticate as one demo user with:"];
  if (secret) {
    const links = ["Or open GraphiQL as one of them (the link fills in the header; it stays in your browser):"];
    for (const user of seed.users) {
      const token = await signLocalToken({ secret, issuer, audience }, user.subject);
      lines.push(`  ${user.role.padEnd(9)} ${user.email.padEnd(22)} {"Authorization": "Bearer ${token}"}`);
      links.push(`  ${user.role.padEnd(9)} ${gateway.url}/graphql#authorization=Bearer%20${token}`);
    }
    lines.push(...links);
  }
  lines.push(
    seed.apiKey
      ? `Demo API key (scope VIEW, shown only this once): {"x-api-key": "${seed.apiKey}"}`
      : "The demo API key was printed on the first start only (it is stored hashed).",
    "",
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

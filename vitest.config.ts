import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files that take far longer than the rest, longest first (200 tenant databases; the embedded and compiled starts;
 * a second Postgres server; twenty gateway shutdowns; CLI processes; Prisma's schema engine, installed on the first
 * run). They start first so that no worker is left running one of them alone at the end. Vitest orders by the
 * durations it cached from earlier runs, but a fresh clone (CI) has none and would order by file size, which puts
 * most of these late.
 */
const SLOW_FILES = [
  "test/tenancy/many-tenants.test.ts",
  "test/embedded/start.test.ts",
  "test/tenancy/dedicated-tenants.test.ts",
  "test/http/shutdown-flushes-answers.test.ts",
  "test/cli/cli.test.ts",
  "test/database/schema-matches-migrations.test.ts",
];

class SlowFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = SLOW_FILES.findIndex((slow) => file.moduleId.endsWith(slow));
      return index === -1 ? SLOW_FILES.length : index;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  resolve: {
    // type-graphql and graphql-middleware load graphql's CJS build; make vitest use the same one.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default is one worker less than the cores: a single worker on CI's two cores. The files spend most of
    // their time waiting for Postgres, sockets and child processes, so two files at a time keep both cores busy.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: SlowFilesFirst },
    // CI also keeps a machine-readable summary, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
  },
});

import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { dropTestDatabases, ensureTemplateDatabase, TEST_RUN_VARIABLE } from "./postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Migrates one template database per run; each test file copies it. The copies are named after this run (the
 * workers inherit the variable) and dropped together when the run ends, whether its files passed or not.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = randomBytes(4).toString("hex");
  process.env[TEST_RUN_VARIABLE] = run;
  project.provide("templateDatabase", await ensureTemplateDatabase());
  return () => dropTestDatabases(run);
}

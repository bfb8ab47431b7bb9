import type { TestProject } from "vitest/node";
import { ensureTemplateDatabase } from "./postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/** Migrates one template database per run; each test file copies it. */
export default async function setup(project: TestProject): Promise<void> {
  project.provide("templateDatabase", await ensureTemplateDatabase());
}

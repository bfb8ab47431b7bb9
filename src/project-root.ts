import path from "node:path";

/**
 * The folder holding package.json and prisma/migrations. This file sits directly under `src/` (run by tsx)
 * or `dist/` (compiled by `npm run build`), so one level up is the project in both cases.
 */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, "..");

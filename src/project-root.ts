import path from "node:path";

/**
 * The folder holding package.json, prisma/migrations and proto/. This file sits directly under `src/` (run by tsx),
 * or in a bundled file directly in `dist/` (`npm run build`, scripts/bundle.mjs), so one level up is the project in
 * both cases.
 */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, "..");

import { readFileSync } from "node:fs";
import { printSchema } from "graphql";
import { expect, it } from "vitest";
import { buildBareSchema } from "../../src/server/schema.js";

it("schema.graphql is what the code generates (run `npm run schema:emit` when this fails)", () => {
  const checkedIn = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
  expect(checkedIn).toBe(`${printSchema(buildBareSchema())}\n`);
});

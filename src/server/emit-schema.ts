import { writeFileSync } from "node:fs";
import { printSchema } from "graphql";
import { buildBareSchema } from "./schema.js";

/** Writes schema.graphql from the code; test/graphql/schema-file.test.ts fails when it is stale. */
const target = new URL("../../schema.graphql", import.meta.url);
writeFileSync(target, `${printSchema(buildBareSchema())}\n`);
process.stdout.write(`wrote ${target.pathname}\n`);

// Second step of `npm run build`: bundles tsc's output (dist/.tsc, see tsconfig.build.json) into dist/ with esbuild,
// then removes dist/.tsc.
//
// Why bundle: a compiled start from an existing data folder spent about a fifth of its CPU time resolving, reading
// and compiling ~600 module files one by one (bench:start, README). Bundled, the gateway is a few files whose
// lazily imported parts (GraphiQL's page, OpenTelemetry, gRPC, the demo content) are separate chunks, loaded only
// when used.
// Why tsc first: esbuild does not emit TypeScript's decorator metadata (`emitDecoratorMetadata`), which
// type-graphql reads; tsc's JavaScript already holds it.
//
// Layout the code relies on: every output file sits directly in dist/, so `src/project-root.ts` (one level up from
// its own file) is the project root, and the evaluation pool finds its workers' entry, dist/evaluation-worker.js,
// beside the chunk that holds evaluator.ts.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const compiled = path.join(root, "dist/.tsc");
const outdir = path.join(root, "dist");
if (!existsSync(path.join(compiled, "main.js"))) throw new Error("dist/.tsc/main.js is missing: `npm run build` runs tsc first");

await build({
  entryPoints: {
    main: path.join(compiled, "main.js"),
    "evaluation-worker": path.join(compiled, "modules/execution/evaluation-worker.js"),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Packages resolve as Node resolves them (CommonJS `main` before `module`), so no package is bundled twice in
  // two formats (graphql's CommonJS and ES builds would make two GraphQLError classes).
  mainFields: ["main", "module"],
  // Packages that open files beside their own module files stay in node_modules, where those files are: PGlite (its
  // WebAssembly and data), piscina and pino (their worker threads' scripts), gRPC (its .proto files; a chunk loaded
  // only with GRPC_PORT anyway). The check below fails the build when another bundled package does the same.
  external: ["@electric-sql/pglite", "pglite-prisma-adapter", "piscina", "pino", "@grpc/grpc-js"],
  // Bundled CommonJS packages call `require` for Node's built-ins; an ES module has none of its own.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  // Less text to parse at start; names stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  // Maps back to src/ through tsc's own maps (`node --enable-source-maps dist/main.js`).
  sourcemap: "linked",
  logLevel: "warning",
});
rmSync(compiled, { recursive: true, force: true });

// CommonJS code that locates files with __dirname or __filename would look for them in dist/. The one use allowed is
// the generated Prisma client's, which sets `globalThis.__dirname` to its own folder for Prisma's runtime; the
// runtime bundled here (the query compiler inlined as base64) reads no file from it.
const ALLOWED = "globalThis.__dirname=";
const offenders = readdirSync(outdir)
  .filter((name) => name.endsWith(".js"))
  .filter((name) => /\b__(dirname|filename)\b/.test(readFileSync(path.join(outdir, name), "utf8").replaceAll(ALLOWED, "")));
if (offenders.length > 0) {
  throw new Error(`bundled code locates files beside itself (__dirname/__filename) in ${offenders.join(", ")}: add its package to \`external\``);
}

/**
 * The layers of src/, enforced by `npm run lint:layers` (part of `npm test`). Each top folder's README.md
 * says what it may import; these rules are the part a machine can check.
 *
 *   root files (main, gateway, services, loaders, config, logging)   start-up and wiring
 *   server/       assembles the transports: the GraphQL schema and the HTTP server        (transport)
 *   http/ rest/   HTTP plumbing and the REST /run… routes                                 (transport)
 *   cli/ demo/    the administration CLI, the demo tenant of the embedded start
 *   modules/      the domains: services (rules) and their GraphQL types and resolvers
 *   graphql/      what resolvers are written with: context type, scalars, shield rules, principalOf
 *   stores/ shared/ authorization/ identity/ errors/ database/ telemetry/   foundations
 *   engine/       the policy language, a pure library
 *
 * Type-only imports count: a cycle of types is still a cycle in the design.
 */
const TRANSPORTS = "^src/(server|http|rest)/";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycle between files.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycle",
      severity: "error",
      comment:
        "No cycle between folders (top folders of src/ and the module folders in src/modules): a folder that " +
        "depends on another may not be depended on by it, directly or through others.",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "engine-is-pure",
      severity: "error",
      comment:
        "src/engine is a library: it imports only itself, node builtins and its own npm packages (the pattern " +
        "engine, the flow formats, and peggy for building the grammar).",
      from: { path: "^src/engine/" },
      to: {
        pathNot: ["^src/engine/", "^node_modules/(re2js|yaml|smol-toml|peggy)/"],
        dependencyTypesNot: ["core"],
      },
    },
    {
      name: "modules-not-transports",
      severity: "error",
      comment:
        "Domain modules do not know how they are served: nothing in src/modules imports the schema and server " +
        "assembly (src/server), the HTTP plumbing (src/http) or the REST routes (src/rest).",
      from: { path: "^src/modules/" },
      to: { path: TRANSPORTS },
    },
    {
      name: "domain-logic-not-graphql",
      severity: "error",
      comment:
        "Inside a module only its GraphQL face (*.resolver.ts, *.type(s).ts, *.inputs.ts, *.permissions.ts) uses " +
        "src/graphql; services, loaders and the rest hold rules that REST and the CLI share.",
      from: { path: "^src/modules/", pathNot: "\\.(resolver|types?|inputs|permissions)\\.ts$" },
      to: { path: "^src/graphql/" },
    },
    {
      name: "foundations-not-upward",
      severity: "error",
      comment:
        "The foundations (stores, shared, database, errors, identity, authorization, engine, telemetry) serve the modules " +
        "and transports, so they never import them, nor the GraphQL kit, the CLI or the demo.",
      from: { path: "^src/(stores|shared|database|errors|identity|authorization|engine|telemetry)/" },
      to: { path: "^src/(modules|graphql|server|http|rest|cli|demo)/" },
    },
    {
      name: "http-is-plumbing",
      severity: "error",
      comment:
        "src/http is what both HTTP transports share (request IDs, metrics, rate limiting, health, error bodies): " +
        "it knows neither of them nor the domains.",
      from: { path: "^src/http/" },
      to: { path: "^src/(server|rest|modules|graphql|cli|demo)/" },
    },
    {
      name: "rest-beside-graphql",
      severity: "error",
      comment: "The REST routes call the services directly, never through GraphQL.",
      from: { path: "^src/rest/" },
      to: { path: "^src/(graphql|server|cli|demo)/" },
    },
    {
      name: "cli-not-transports",
      severity: "error",
      comment:
        "The CLI and the demo seed use services and foundations, not the HTTP or GraphQL faces (the demo may " + "fill in src/http's GraphiQL example IDs).",
      from: { path: "^src/(cli|demo)/" },
      to: { path: "^src/(server|http|rest|graphql)/", pathNot: "^src/http/graphiql-examples\\.ts$" },
    },
    {
      name: "transports-only-from-wiring",
      severity: "error",
      comment: "Only the wiring (root files) starts the server assembly; nothing below it imports src/server.",
      from: { path: "^src/[^/]+/", pathNot: "^src/server/" },
      to: { path: "^src/server/" },
    },
    {
      name: "otel-loaded-lazily",
      severity: "error",
      comment:
        "With tracing off nothing of OpenTelemetry is loaded: src/telemetry/otel.ts (the only user of the SDK) is " +
        "imported only dynamically, by startTracing once the OTEL_* variables ask for traces.",
      from: {},
      to: { path: "^src/telemetry/otel\\.ts$", dependencyTypesNot: ["dynamic-import"] },
    },
    {
      name: "opentelemetry-only-in-otel",
      severity: "error",
      comment: "Code on the run path reaches tracing through src/telemetry/tracing.ts, never @opentelemetry itself.",
      from: { pathNot: "^src/telemetry/otel\\.ts$" },
      to: { path: "@opentelemetry/" },
    },
  ],
  options: {
    // The generated Prisma client has cycles of its own; it is not ours to arrange.
    exclude: { path: "^src/generated/" },
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".d.ts"],
    },
  },
};

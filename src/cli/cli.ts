import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, type Config } from "../config.js";
import { DataDirInUseError } from "../database/data-dir-lock.js";
import type { Database } from "../database/database.js";
import { openDatabase } from "../database/open.js";
import { DomainError } from "../errors/domain-error.js";
import { embeddedSecret } from "../gateway.js";
import { ApiKeyScope, Role } from "../generated/prisma/enums.js";
import { signLocalToken } from "../identity/tokens.js";
import { Action } from "../authorization/actions.js";
import { requireAction } from "../authorization/authorize.js";
import { OPERATOR, type TenantActor } from "../identity/actor.js";
import type { Services } from "../services.js";
import { ApiKeyService } from "../modules/identity/api-key.service.js";
import { UserService } from "../modules/identity/user.service.js";
import { createStores, type Stores } from "../stores/index.js";
import type { TenantRow } from "../stores/tenant.store.js";
import { cancelMove, DEFAULT_DRAIN_MS, moveTenant } from "./tenant-move.js";
import { bindingFromOptions, bindTenant, checkTenant, listBindings, migrateAll, TenancyCommandError, tenantDatabaseFor, unbindTenant } from "./tenancy.js";

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE = `Usage: npm run cli -- <command> [options]

Operator commands. They act as the system (audited with actor SYSTEM) on the database the gateway uses:
DATABASE_URL when set, else the embedded database in DATA_DIR (which only one process may open at a time:
stop the gateway first, or mint tokens with --subject, which needs no database).

  tenant create --slug <slug> --name <name>
  tenant bind   --tenant <slug|id> (--env <VAR> | --file </path> | --encrypt-env <VAR>)
                Serves the tenant from its own Postgres database, named by reference: the URL in the gateway's
                environment variable VAR, or in a secrets file, or (--encrypt-env) the URL now in VAR encrypted
                under VERDICT_BINDING_KEY. Migrates that database and records the tenant in it. Refused while the
                tenant has data in the shared database.
  tenant unbind --tenant <slug|id>     serve the tenant from the shared database again (its data stays behind)
  tenant move   --tenant <slug|id> (--env <VAR> | --file </path> | --encrypt-env <VAR> | --shared) [--drain-ms <ms>]
                Copies every table of the tenant's data to that database (or back to the shared one), verifies
                rows per table and the audit chain there, switches the binding in one step, then removes the
                data from where it was. Meanwhile the tenant's requests get 503 with Retry-After; requests
                already running get --drain-ms (default 3000) to finish first.
  tenant move   --tenant <slug|id> --cancel   clear the moving mark a crashed move left (the tenant stays put)
  tenant bindings                      every bound tenant and its binding reference (never a secret)
  tenant check  --tenant <slug|id>     connect, compare the tenant ID the database records, migration status
  migrate       the control database and every bound tenant database, one line each (npm run migrate)
  user add      --tenant <slug|id> --email <email> --name <name> [--role <ROLE>]... [--subject <sub>]
                The tenant's first user becomes ADMIN, later ones VIEWER; --role adds roles on top.
                --subject is the identity provider's subject; by default the user's id (embedded tokens).
  user roles    --tenant <slug|id> --user <email|id> [--add <ROLE>]... [--remove <ROLE>]...
  key issue     --tenant <slug|id> --name <name> --scope <SCOPE>... [--expires <ISO 8601 time>]
                Prints the key once; it is stored only as a hash.
  key revoke    --key <id|prefix> [--tenant <slug|id>]   (--tenant: a dedicated tenant's key)
  demo content  --tenant <slug|id> [--as <email|id>]
                Adds the demo policies (the driving test among them), a flow, a pending draft and groups,
                created and audited as that user (default: the tenant's first admin), who must be able to
                author and publish. Refused when the tenant already has them.
  token mint    (--tenant <slug|id> --user <email|id> | --subject <sub>) [--expires <30d|12h|…>]
                Signs with AUTH_JWT_SECRET, or the embedded secret in DATA_DIR/jwt-secret.

Add --json for machine-readable output. Roles: ${Object.values(Role).join(", ")}. Scopes: ${Object.values(ApiKeyScope).join(", ")}.
`;

class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;
const str = { type: "string" } as const;
const many = { type: "string", multiple: true } as const;
const COMMANDS: Record<string, Options> = {
  "tenant create": { slug: str, name: str },
  "tenant bind": { tenant: str, env: str, file: str, "encrypt-env": str },
  "tenant unbind": { tenant: str },
  "tenant move": { tenant: str, env: str, file: str, "encrypt-env": str, shared: { type: "boolean" }, cancel: { type: "boolean" }, "drain-ms": str },
  "tenant bindings": {},
  "tenant check": { tenant: str },
  migrate: {},
  "user add": { tenant: str, email: str, name: str, role: many, subject: str },
  "user roles": { tenant: str, user: str, add: many, remove: many },
  "key issue": { tenant: str, name: str, scope: many, expires: str },
  "key revoke": { key: str, tenant: str },
  "token mint": { tenant: str, user: str, subject: str, expires: str },
  "demo content": { tenant: str, as: str },
};

/** Runs one CLI command; returns the process exit code (0 ok, 1 refused or failed, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [group, ...afterGroup] = argv;
  if (!group || group === "help" || group === "--help" || group === "-h") {
    io.out(USAGE);
    return group ? 0 : 2;
  }
  // `migrate` is a command of one word; the others are two.
  const oneWord = group === "migrate";
  const verb = oneWord ? undefined : afterGroup[0];
  const rest = oneWord ? afterGroup : afterGroup.slice(1);
  const command = oneWord ? group : `${group} ${verb ?? ""}`;
  const options = COMMANDS[command];
  if (!options) {
    io.err(`Unknown command: ${command.trim()}\n\n${USAGE}`);
    return 2;
  }
  let database: Database | undefined;
  try {
    const { values } = parseArgs({ args: [...rest], options: { ...options, json: { type: "boolean" } }, strict: true, allowPositionals: false });
    const config = loadConfig(io.env);
    const opts = values as Record<string, string | string[] | boolean | undefined>;
    const print = (human: string, data: unknown) => io.out(opts.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
    // Minting by subject needs only the signing secret, so it works while an embedded gateway holds the data folder.
    if (command === "token mint" && opts.subject) {
      await mintToken(config, String(opts.subject), opts.expires as string | undefined, print);
      return 0;
    }
    const controlApplied: string[] = [];
    database = await openDatabase(config, { log: (message) => controlApplied.push(message.replace(/^applied migration /, "")) });
    await runCommand(command, opts, { config, env: io.env, database, print, controlApplied });
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DomainError) io.err(`error: ${error.code}: ${error.message}\n`);
    else if (error instanceof TenancyCommandError) io.err(`error: ${error.message}\n`);
    else if (error instanceof DataDirInUseError) io.err(`error: ${error.message}\n`);
    else io.err(`error: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  } finally {
    await database?.close();
  }
}

interface Run {
  config: Config;
  env: NodeJS.ProcessEnv;
  database: Database;
  print: (human: string, data: unknown) => void;
  /** Migrations opening the control database applied. */
  controlApplied: string[];
}

/** The services over the database that holds one tenant's users, keys and content (its own when bound). */
interface TenantScope {
  tenant: TenantRow;
  database: Database;
  stores: Stores;
  users: UserService;
  keys: ApiKeyService;
}

async function runCommand(command: string, opts: Record<string, unknown>, run: Run): Promise<void> {
  const { config, database, print } = run;
  const stores = createStores(database);
  const users = new UserService(database, stores.tenants, stores.identities);
  const inTenant = async <T>(slugOrId: string, work: (scope: TenantScope) => Promise<T>): Promise<T> => {
    const tenant = await users.findTenant(slugOrId);
    const target = await tenantDatabaseFor(run, tenant);
    try {
      const tenantStores = target.database === database ? stores : createStores(target.database);
      return await work({
        tenant,
        database: target.database,
        stores: tenantStores,
        users: new UserService(target.database, tenantStores.tenants, tenantStores.identities),
        keys: new ApiKeyService(target.database, tenantStores.identities),
      });
    } finally {
      await target.close();
    }
  };
  switch (command) {
    case "tenant bind": {
      const tenant = await users.findTenant(required(opts, "tenant"));
      await bindTenant(run, tenant, bindingFromOptions(opts, tenant.id, run.env));
      return;
    }
    case "tenant unbind":
      await unbindTenant(run, await users.findTenant(required(opts, "tenant")));
      return;
    case "tenant move": {
      const tenant = await users.findTenant(required(opts, "tenant"));
      if (opts.cancel) return cancelMove(run, tenant);
      const drainMs = opts["drain-ms"] === undefined ? DEFAULT_DRAIN_MS : Number(opts["drain-ms"]);
      if (!Number.isInteger(drainMs) || drainMs < 0 || drainMs > 600_000)
        throw new UsageError("--drain-ms must be a whole number of milliseconds, 0 to 600000");
      const hasBinding = ["env", "file", "encrypt-env"].some((name) => typeof opts[name] === "string");
      if (opts.shared && hasBinding) throw new UsageError("Name either a database (--env, --file, --encrypt-env) or --shared");
      const to = opts.shared ? null : bindingFromOptions(opts, tenant.id, run.env);
      return moveTenant(run, tenant, { to, drainMs });
    }
    case "tenant bindings":
      await listBindings(run);
      return;
    case "tenant check":
      await checkTenant(run, await users.findTenant(required(opts, "tenant")));
      return;
    case "migrate":
      await migrateAll(run, run.controlApplied);
      return;
    case "tenant create": {
      const tenant = await users.createTenant(required(opts, "slug"), required(opts, "name"));
      print(`tenant ${tenant.slug} created (id ${tenant.id})`, tenant);
      return;
    }
    case "user add":
      return inTenant(required(opts, "tenant"), async ({ tenant, users }) => {
        const subject = opts.subject as string | undefined;
        const user = await users.addUser(OPERATOR, {
          tenantId: tenant.id,
          email: required(opts, "email"),
          name: required(opts, "name"),
          ...(subject ? { subject } : {}),
          extraRoles: enumValues(opts.role, Role, "role"),
        });
        print(`user ${user.email} added to ${tenant.slug} (id ${user.id}, subject ${user.subject}, roles ${user.roles.join(", ")})`, user);
      });
    case "user roles":
      return inTenant(required(opts, "tenant"), async ({ tenant, users }) => {
        const target = await users.findUser(tenant.id, required(opts, "user"));
        const add = enumValues(opts.add, Role, "add");
        const remove = enumValues(opts.remove, Role, "remove");
        if (add.length === 0 && remove.length === 0) throw new UsageError("Name roles with --add and/or --remove");
        let user = target;
        if (add.length) user = await users.assignRoles(OPERATOR, tenant.id, target.id, add);
        if (remove.length) user = await users.removeRoles(OPERATOR, tenant.id, target.id, remove);
        print(`user ${user.email} now has roles ${user.roles.join(", ") || "(none)"}`, user);
      });
    case "key issue":
      return inTenant(required(opts, "tenant"), async ({ tenant, keys }) => {
        const scopes = enumValues(opts.scope, ApiKeyScope, "scope");
        if (scopes.length === 0) throw new UsageError("Name at least one --scope");
        const expires = opts.expires ? new Date(String(opts.expires)) : null;
        if (expires && Number.isNaN(expires.getTime())) throw new UsageError("--expires must be an ISO 8601 time");
        const { apiKey, secret } = await keys.create(OPERATOR, tenant.id, { name: required(opts, "name"), scopes, expiresAt: expires });
        print(
          `API key ${apiKey.prefix} (id ${apiKey.id}) for ${tenant.slug}, scopes ${apiKey.scopes.join(", ")}.\n` +
            `Send it as the x-api-key header. It is shown only now:\n${secret}`,
          { ...apiKey, key: secret },
        );
      });
    case "key revoke": {
      const revoke = async (keys: ApiKeyService) => {
        const found = await keys.findForOperator(required(opts, "key"));
        const revoked = await keys.revoke(OPERATOR, found.tenantId, found.id);
        print(`API key ${revoked.prefix} (id ${revoked.id}) revoked`, revoked);
      };
      if (typeof opts.tenant === "string") return inTenant(opts.tenant, (scope) => revoke(scope.keys));
      return revoke(new ApiKeyService(database, stores.identities));
    }
    case "demo content":
      return inTenant(required(opts, "tenant"), async (scope) => {
        const actor = await demoActor(scope.stores, scope.users, scope.tenant.id, opts.as as string | undefined);
        // Loaded only here: the service graph and the engine would slow every other command's start.
        const { createDemoContent, DEMO_BASE_NAMES } = await import("../demo/demo-content.js");
        const content = await withServices(scope.database, (services) => createDemoContent(services, { publisher: actor, editor: actor }));
        print(`demo content added to ${scope.tenant.slug}: ${DEMO_BASE_NAMES.join(", ")}; groups Lending and Licensing`, content);
      });
    case "token mint":
      return inTenant(required(opts, "tenant"), async (scope) => {
        const user = await scope.users.findUser(scope.tenant.id, required(opts, "user"));
        // The tenant claim routes the token to the tenant's database (src/tenant-routing.ts).
        await mintToken(config, user.subject, opts.expires as string | undefined, print, scope.tenant.id);
      });
    default:
      throw new UsageError(`Unknown command ${command}`);
  }
}

async function mintToken(config: Config, subject: string, expires: string | undefined, print: Run["print"], tenantId?: string): Promise<void> {
  if (config.AUTH_JWKS_URL) throw new Error("The gateway verifies tokens against AUTH_JWKS_URL: get tokens from that identity provider");
  const secret = config.AUTH_JWT_SECRET ?? (config.DATABASE_URL ? undefined : await embeddedSecret(config.DATA_DIR));
  if (!secret) throw new Error("Minting tokens needs AUTH_JWT_SECRET (or the embedded mode's secret in DATA_DIR)");
  const expiresIn = expires ?? "30d";
  if (!/^\d+\s*(s|m|h|d|w)$/.test(expiresIn)) throw new UsageError("--expires must look like 30d, 12h or 15m");
  const token = await signLocalToken({ secret, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }, subject, expiresIn, tenantId);
  print(token, { subject, token, expiresIn, ...(tenantId ? { tenantId } : {}) });
}

/** The user the demo content is created as: the one named, else the tenant's first admin. */
async function demoActor(stores: Stores, users: UserService, tenantId: string, emailOrId: string | undefined): Promise<TenantActor> {
  const user = emailOrId ? await users.findUser(tenantId, emailOrId) : await stores.identities.firstAdmin(tenantId);
  if (!user) throw new UsageError("The tenant has no admin: name a user who may author and publish with --as");
  const actor: TenantActor = { kind: "user", tenantId, userId: user.id, roles: user.roles };
  requireAction(actor, Action.AuthorResources);
  requireAction(actor, Action.PublishResources);
  return actor;
}

/** The service graph for one command; its execution audit batcher is flushed and closed afterwards. */
async function withServices<T>(database: Database, work: (services: Services) => Promise<T>): Promise<T> {
  const { createServices } = await import("../services.js");
  const services = createServices(database);
  await services.runnables.start();
  try {
    return await work(services);
  } finally {
    await services.shadowRunner.stop();
    await services.runnables.stop();
    await services.inputRecorder.stop();
    await services.executionAudit.close();
  }
}

function required(opts: Record<string, unknown>, name: string): string {
  const value = opts[name];
  if (typeof value !== "string" || value.trim() === "") throw new UsageError(`Missing --${name}`);
  return value;
}

function enumValues<T extends string>(raw: unknown, values: Record<string, T>, name: string): T[] {
  const given = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => String(v).split(","));
  const allowed = new Set<string>(Object.values(values));
  return given.map((v) => {
    const upper = v.trim().toUpperCase();
    if (!allowed.has(upper)) throw new UsageError(`--${name} ${v} is not one of ${[...allowed].join(", ")}`);
    return upper as T;
  });
}

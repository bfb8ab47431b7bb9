import "reflect-metadata";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { openEmbedded } from "../../src/database/embedded.js";
import { errorCodes, graphql, startTestGateway, TEST_JWT_SECRET, type TestGateway } from "../support/gateway.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
let gateway: TestGateway;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  gateway = await startTestGateway();
  env = { DATABASE_URL: gateway.db.url, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" };
});
afterAll(() => gateway?.stop());

async function cli(args: string[], environment: NodeJS.ProcessEnv = env) {
  let out = "";
  let err = "";
  const code = await runCli(args, { env: environment, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err, json: () => JSON.parse(out) };
}

describe("CLI against Postgres (DATABASE_URL)", () => {
  it("creates a tenant, adds users under the first-user rule, and mints tokens the gateway accepts", async () => {
    expect((await cli(["tenant", "create", "--slug", "initech", "--name", "Initech", "--json"])).json()).toMatchObject({ slug: "initech" });
    const first = (await cli(["user", "add", "--tenant", "initech", "--email", "bill@initech.test", "--name", "Bill", "--json"])).json();
    const second = (await cli(["user", "add", "--tenant", "initech", "--email", "pete@initech.test", "--name", "Pete", "--role", "editor", "--json"])).json();
    expect(first.roles).toEqual(["ADMIN"]);
    expect(second.roles).toEqual(["VIEWER", "EDITOR"]);

    const minted = await cli(["token", "mint", "--tenant", "initech", "--user", "bill@initech.test"]);
    expect(minted.code).toBe(0);
    const me = await graphql(gateway.url, `{ viewer { user { id roles } tenant { slug } } }`, {}, { authorization: `Bearer ${minted.out.trim()}` });
    expect(me.data.viewer).toEqual({ user: { id: first.id, roles: ["ADMIN"] }, tenant: { slug: "initech" } });

    const bySubject = await cli(["token", "mint", "--subject", second.subject, "--expires", "1h"]);
    const pete = await graphql(gateway.url, `{ viewer { user { roles } } }`, {}, { authorization: `Bearer ${bySubject.out.trim()}` });
    expect(pete.data.viewer.user.roles).toEqual(["VIEWER", "EDITOR"]);

    const roles = await cli(["user", "roles", "--tenant", "initech", "--user", "pete@initech.test", "--add", "AUDITOR", "--remove", "EDITOR", "--json"]);
    expect(roles.json().roles).toEqual(["VIEWER", "AUDITOR"]);
  });

  it("issues a key printed once that works, and revokes it for the next request", async () => {
    await cli(["tenant", "create", "--slug", "hooli", "--name", "Hooli"]);
    const issued = await cli(["key", "issue", "--tenant", "hooli", "--name", "ci", "--scope", "VIEW", "--scope", "EDIT"]);
    expect(issued.code).toBe(0);
    const key = /^(vdk_\S+)$/m.exec(issued.out)![1]!;
    expect(issued.out).toMatch(/shown only now/);
    const ok = await graphql(gateway.url, `{ viewer { scopes tenant { slug } } }`, {}, { "x-api-key": key });
    expect(ok.data.viewer).toEqual({ scopes: ["VIEW", "EDIT"], tenant: { slug: "hooli" } });
    const prefix = key.split("_")[2]!; // vdk_<tenant>_<prefix>_…
    expect((await cli(["key", "revoke", "--key", prefix])).code).toBe(0);
    const refused = await graphql(gateway.url, `{ viewer { scopes } }`, {}, { "x-api-key": key });
    expect(refused.status).toBe(401);
    expect(errorCodes(refused)).toEqual(["UNAUTHENTICATED"]);
    const again = await cli(["key", "revoke", "--key", prefix]);
    expect(again).toMatchObject({ code: 1 });
    expect(again.err).toMatch(/CONFLICT/);
    const events = await gateway.database.prisma.auditEvent.findMany({ where: { action: { in: ["KEY_CREATED", "KEY_REVOKED"] }, actorType: "SYSTEM" } });
    expect(events.map((e) => e.action).sort()).toEqual(["KEY_CREATED", "KEY_REVOKED"]);
  });

  it("answers bad usage with exit code 2 and refused operations with exit code 1", async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(["help"])).code).toBe(0);
    expect((await cli(["user", "add", "--tenant", "initech"])).err).toMatch(/Missing --email/);
    expect((await cli(["user", "add", "--tenant", "initech", "--email", "x@y.z", "--name", "X", "--role", "KING"])).code).toBe(2);
    expect((await cli(["key", "issue", "--tenant", "initech", "--name", "k", "--bogus", "1"])).code).toBe(2);
    const missing = await cli(["user", "add", "--tenant", "nope", "--email", "x@y.z", "--name", "X"]);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.err).toMatch(/NOT_FOUND/);
  });

  it("runs as `npm run cli`", async () => {
    const { stdout } = await promisify(execFile)("npm", ["run", "-s", "cli", "--", "tenant", "create", "--slug", "spawned", "--name", "Spawned", "--json"], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    expect(JSON.parse(stdout)).toMatchObject({ slug: "spawned" });
  });
});

describe("CLI on the embedded database", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "verdict-cli-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("refuses, with an explanation, a data folder another process (the gateway) holds, and works once it is free", async () => {
    const embeddedEnv = { DATA_DIR: dataDir, LOG_LEVEL: "silent" };
    const { database } = await openEmbedded(dataDir); // what a running embedded gateway holds
    try {
      const refused = await cli(["tenant", "create", "--slug", "emb", "--name", "Emb"], embeddedEnv);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/in use by process \d+/);
      expect(refused.err).toMatch(/PGlite allows one process per data folder/);
      // Minting for a known subject needs no database, so it works while the gateway runs.
      const minted = await cli(["token", "mint", "--subject", "someone"], embeddedEnv);
      expect(minted.code).toBe(0);
      expect(minted.out.trim().split(".")).toHaveLength(3);
    } finally {
      await database.close();
    }
    expect((await cli(["tenant", "create", "--slug", "emb", "--name", "Emb"], embeddedEnv)).code).toBe(0);
    const user = (await cli(["user", "add", "--tenant", "emb", "--email", "e@emb.test", "--name", "E", "--json"], embeddedEnv)).json();
    expect(user.roles).toEqual(["ADMIN"]);
  }, 60_000);
});

import pg from "pg";
import type { PrismaClient } from "../../src/generated/prisma/client.js";
import type { BaseKind } from "../../src/generated/prisma/enums.js";
import { BaseBuilder } from "./fixtures.js";

export interface BaseFixture {
  kind?: BaseKind;
  name?: string;
  /** Owner of a never-published base; ignored when `published`. */
  ownerId: string;
  published?: boolean;
  deleted?: boolean;
  /** Draft content; empty by default. */
  content?: string;
}

/** Shorthand for `fixtures(prisma).base(…)`: a base with a draft, marked published without versions when `published`. */
export async function insertBase(prisma: PrismaClient, tenantId: string, fixture: BaseFixture): Promise<{ id: string; name: string }> {
  const builder = new BaseBuilder(prisma, { id: tenantId, slug: "", users: {} })
    .ofKind(fixture.kind ?? "POLICY")
    .ownedBy(fixture.ownerId)
    .draft(fixture.content ?? "");
  if (fixture.name) builder.named(fixture.name);
  if (fixture.published) builder.published();
  if (fixture.deleted) builder.deleted();
  return builder.create();
}

/** A superuser session on the test database, for changes made behind the gateway's back. */
export async function asSuperuser<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The marker that makes the audit insert fail once `installAuditFailureTrigger` has run. */
export const AUDIT_FAILURE_MARKER = "audit-must-fail";

/** Test-only: a trigger that refuses audit events whose detail carries the marker, to prove changes roll back with them. */
export function installAuditFailureTrigger(databaseUrl: string): Promise<unknown> {
  return asSuperuser(databaseUrl, (client) =>
    client.query(`
      CREATE FUNCTION test_fail_marked_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.detail::text LIKE '%${AUDIT_FAILURE_MARKER}%' THEN RAISE EXCEPTION 'audit insert refused for the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail_marked_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_fail_marked_audit();`),
  );
}

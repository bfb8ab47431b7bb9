import pg from "pg";

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

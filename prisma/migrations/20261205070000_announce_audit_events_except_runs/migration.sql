-- Runs' EXECUTED events are no longer announced. Postgres lets only one transaction that sent a NOTIFY commit at a
-- time across the whole server, and holds that turn through the commit's disk flush, so announcing every batch of
-- executed events serialised the durable run path of every tenant behind the flushes (measured: 654 → 1,025 runs/s
-- at 50 connections without the announcement). Live subscribers that want runs (auditEvents) read the log on a
-- timer instead (src/modules/live/live.service.ts); every other event is still announced as it commits.
CREATE OR REPLACE FUNCTION "announce_audit_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('verdict_audit_appended', tenant_id::text)
    FROM (SELECT DISTINCT tenant_id FROM appended WHERE action <> 'EXECUTED') AS tenants;
  RETURN NULL;
END $$;

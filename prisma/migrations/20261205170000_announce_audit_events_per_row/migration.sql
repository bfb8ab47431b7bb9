-- Announcing audit events per row, only for rows that are not runs, instead of once per statement over a
-- transition table. The statement-level trigger ran for every batch of executed events too: Postgres copied each
-- inserted row into the transition table and called the PL/pgSQL function, only to find nothing to announce. A row
-- trigger's WHEN condition is checked in C as each row is inserted, and a row that fails it queues nothing, so a
-- batch of runs pays for no trigger at all. Identical notifications of one transaction are delivered once, so a
-- statement appending many events of one tenant still sends one (see 20261205000000_announce_audit_events).
DROP TRIGGER "audit_events_announce" ON "audit_events";
DROP FUNCTION "announce_audit_events"();

CREATE FUNCTION "announce_audit_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('verdict_audit_appended', NEW.tenant_id::text);
  RETURN NULL;
END $$;

CREATE TRIGGER "audit_events_announce" AFTER INSERT ON "audit_events"
  FOR EACH ROW WHEN (NEW.action <> 'EXECUTED') EXECUTE FUNCTION "announce_audit_event"();

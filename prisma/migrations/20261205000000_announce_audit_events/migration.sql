-- Live subscriptions (src/modules/live): every statement that appends audit events announces, per tenant, that
-- the tenant's log grew. Each gateway process with subscribers in that tenant then reads the new events after
-- the last sequence it delivered, so the payload carries only the tenant (NOTIFY payloads are small, and
-- identical payloads of one transaction are sent once). NOTIFY inside the transaction is delivered on commit.
CREATE FUNCTION "announce_audit_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('verdict_audit_appended', tenant_id::text) FROM (SELECT DISTINCT tenant_id FROM appended) AS tenants;
  RETURN NULL;
END $$;

CREATE TRIGGER "audit_events_announce" AFTER INSERT ON "audit_events"
  REFERENCING NEW TABLE AS appended
  FOR EACH STATEMENT EXECUTE FUNCTION "announce_audit_events"();

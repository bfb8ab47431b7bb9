-- Bearer-token requests authenticate from a per-process cache of user rows (src/identity/authenticate.ts) instead of
-- reading the user on every request. Any change to a user row — roles, subject, tenant, deactivation or deletion,
-- by the services, the CLI or plain SQL — announces the user's subject on commit, so every gateway process drops
-- its cached row before its next request is answered (the same catch-up rule as API keys). Inserts need no
-- announcement: unknown subjects are never cached. A tenant's binding changing drops every cached user ("*"): the
-- cached row carries it, and bindings change rarely.
CREATE FUNCTION "announce_user_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('verdict_user_changed', OLD.subject);
  IF TG_OP = 'UPDATE' AND NEW.subject IS DISTINCT FROM OLD.subject THEN
    PERFORM pg_notify('verdict_user_changed', NEW.subject);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "users_announce_change" AFTER UPDATE OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "announce_user_change"();

CREATE FUNCTION "announce_tenant_binding_to_users"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('verdict_user_changed', '*');
  RETURN NULL;
END $$;

CREATE TRIGGER "tenants_announce_binding_to_users" AFTER UPDATE OF "database_binding" ON "tenants"
  FOR EACH ROW WHEN (OLD.database_binding IS DISTINCT FROM NEW.database_binding)
  EXECUTE FUNCTION "announce_tenant_binding_to_users"();

-- Moving a tenant between the shared database and a dedicated one (src/database/README.md, "Moving a tenant").

-- Binding changes are audit events in the tenant's chain.
ALTER TYPE "AuditAction" ADD VALUE 'DATABASE_BOUND';
ALTER TYPE "AuditAction" ADD VALUE 'DATABASE_UNBOUND';
ALTER TYPE "AuditAction" ADD VALUE 'DATABASE_MOVED';
ALTER TYPE "AuditResourceKind" ADD VALUE 'TENANT';

-- AlterTable
ALTER TABLE "tenants" ADD COLUMN "moving_since" TIMESTAMPTZ(3);

-- Hand-written: versions and audit events stay immutable, except that `tenant move` removes a moved tenant's
-- rows from the database it left. It says so in its own transaction (SET LOCAL verdict.tenant_move = the
-- tenant's ID), and only that tenant's rows may then be deleted; an UPDATE is always refused.
CREATE OR REPLACE FUNCTION "refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.tenant_id::text = current_setting('verdict.tenant_move', true) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

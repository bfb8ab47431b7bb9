-- Every run appends an EXECUTED event on the durable run path (issue #15), so whatever audit_events maintains per
-- row is paid per run. `npm run bench:audit-append` (the batcher's statement alone, Postgres CPU of its connection),
-- two runs in each checkout alternating on one machine: 40–43 → 33–34 µs per event in batches of 10, 37–38 → 28–31 in
-- batches of 25; pgbench with the same statement, server CPU including the WAL writer: 459 → 379 µs per batch of 10.
-- The statement's fixed cost (about 150 µs, mostly the commit) does not change. On a log of a million events this
-- migration took 0.95 s (the partial index reads the table once; appends wait for it, nothing else is rewritten).
--
-- 1. The foreign key to tenants ran a referential check per inserted row. Events are only ever appended in one
--    statement with the tenant's audit_chain_heads row (it moves the head), and that row has the foreign key, so an
--    event cannot name a tenant that does not exist, and a tenant with events cannot be deleted (its head cannot).
ALTER TABLE "audit_events" DROP CONSTRAINT "audit_events_tenant_id_fkey";

-- 2. The key is the event's place in its tenant's chain, whose unique index existed already. The UUID `id` stays as a
--    column (clients see it; existing events keep theirs) but is not indexed: nothing looks an event up by it, and its
--    index cost every event an insertion at a random place in a B-tree.
ALTER TABLE "audit_events" DROP CONSTRAINT "audit_events_pkey";
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_pkey" PRIMARY KEY USING INDEX "audit_events_tenant_id_sequence_key";

-- 3. Hand-written (the Prisma schema cannot express it): the action index leaves out EXECUTED events, the bulk of the
--    log. A listing of runs reads the key backwards (nearly every event is a run), a listing of other actions this
--    index, which stays small.
DROP INDEX "audit_events_tenant_id_action_occurred_at_idx";
CREATE INDEX "audit_events_tenant_id_action_occurred_at_idx" ON "audit_events" ("tenant_id", "action", "occurred_at") WHERE "action" <> 'EXECUTED';

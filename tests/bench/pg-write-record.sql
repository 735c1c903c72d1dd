-- pgbench ceiling for a record write: the core of pawl's write transaction,
-- the list timestamp bump (its row lock serialises the writers of one list
-- until COMMIT) and the object upsert, in the one statement
-- app/store/objects.c sends for them (pawl_objects_put), in one transaction,
-- committed as pawl commits (storage_early_lock_release): the transaction's
-- id read just before (to learn a lost COMMIT's outcome), an asynchronous
-- COMMIT, then a synchronous one-statement transaction that waits for the WAL
-- flush, with the stack's durability (fsync on). tests/bench/run runs
-- it with pawl's protocol (-M prepared or extended) and checks that the
-- statement is still among those pawl sends for a POST. Differences from
-- pawl, all negligible: a variable used twice becomes two parameters, and
-- ids are random integers rather than UUIDs.
-- Variables (-D): parent (/buckets/B/collections/C), rname (record), floor
-- (0), data (the record without id and last_modified). For writes spread
-- over 16 lists the run uses 16 copies, :parent renamed :parent0 ... :parent15.
\set id random(1, 9000000000000000000)
BEGIN;
SET LOCAL synchronous_commit = off;
WITH ts AS (INSERT INTO timestamps AS t (parent_id, resource_name, last_modified) VALUES (:parent, :rname, GREATEST((extract(epoch FROM clock_timestamp()) * 1000)::bigint, :floor::bigint)) ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = CASE WHEN t.last_modified < 9007199254740992 THEN GREATEST(EXCLUDED.last_modified, t.last_modified + 1) ELSE GREATEST(EXCLUDED.last_modified, (SELECT coalesce(max(o.last_modified), 0) + 1 FROM objects o WHERE o.parent_id = :parent AND o.resource_name = :rname AND o.last_modified < 9007199254740992)) END RETURNING last_modified) INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data) SELECT :parent, :rname, :id, ts.last_modified, false, :data::jsonb || jsonb_build_object('id', :id::text, 'last_modified', ts.last_modified) FROM ts ON CONFLICT (parent_id, resource_name, id) DO UPDATE SET last_modified = EXCLUDED.last_modified, deleted = false, data = EXCLUDED.data RETURNING data::text, last_modified, deleted;
SELECT pg_current_xact_id_if_assigned()::text;
COMMIT;
SELECT pg_logical_emit_message(true, 'pawl.barrier', '');

-- Every statement pawl sends for one POST creating a record with the Redis
-- listener on (from PostgreSQL's log of a real request): the write
-- transaction -- permission check, parent check, timestamp bump, upsert,
-- the creator's ACE, the ACL for the answer, the outbox row -- then the
-- after-response delivery transaction that takes the outbox rows back
-- (pawl_outbox_take). Run with -M extended. As in pg-write-record.sql a
-- variable used twice becomes two parameters, ids are random integers, and
-- the object's URI is built with || from the same values (pgbench has no
-- string variables computed per transaction).
-- tests/bench/run defines with -D: parent, rname, floor, data as in
-- pg-write-record.sql, and
--   objs        {parent,parent,/buckets/B}    perms {record:create,write,write}
--   principals  {<user id>,system.Everyone,system.Authenticated}
--   bparent     /buckets/B     cname collection     cid C
--   uriprefix   parent || '/records/'              userid <user id>
--   listeners   {redis}        listkeys {"<parent> record"}
--   payloads    {"<an event's JSON>"}               listener redis
--   listkey     <parent> record                    take 500
\set id random(1, 9000000000000000000)
BEGIN;
SELECT EXISTS (SELECT 1 FROM access_control_entries a JOIN unnest(:objs::text[], :perms::text[]) AS g(o, p) ON a.object_id = g.o AND a.permission = g.p WHERE a.principal = ANY(:principals::text[] || ARRAY(SELECT principal FROM user_principals WHERE user_id = ANY(:principals::text[]))));
SELECT 1 FROM objects WHERE parent_id = :bparent AND resource_name = :cname AND id = :cid AND NOT deleted;
INSERT INTO timestamps AS t (parent_id, resource_name, last_modified) VALUES (:parent, :rname, GREATEST((extract(epoch FROM clock_timestamp()) * 1000)::bigint, :floor::bigint)) ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = GREATEST(EXCLUDED.last_modified, t.last_modified + 1) RETURNING last_modified AS ts \gset
INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data) VALUES (:parent, :rname, :id, :ts::bigint, false, :data::jsonb || jsonb_build_object('id', :id::text, 'last_modified', :ts::bigint)) ON CONFLICT (parent_id, resource_name, id) DO UPDATE SET last_modified = EXCLUDED.last_modified, deleted = false, data = EXCLUDED.data RETURNING data::text, last_modified, deleted;
INSERT INTO access_control_entries (object_id, permission, principal) VALUES (:uriprefix || :id, 'write', :userid) ON CONFLICT DO NOTHING;
SELECT coalesce(jsonb_object_agg(permission, principals), '{}')::text FROM (SELECT permission, jsonb_agg(principal ORDER BY principal) AS principals FROM access_control_entries WHERE object_id = :uriprefix || :id GROUP BY permission) t;
INSERT INTO outbox (listener, list_key, payload) SELECT l, k, p FROM unnest(:listeners::text[], :listkeys::text[], :payloads::text[]) WITH ORDINALITY AS t(l, k, p, o) ORDER BY o;
COMMIT;
BEGIN;
WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtext(:listener || ' ' || :listkey)) AS ok), taken AS (DELETE FROM outbox WHERE id IN (SELECT id FROM outbox, lock WHERE lock.ok AND listener = :listener AND list_key = :listkey ORDER BY id LIMIT :take::integer) RETURNING id, payload) SELECT (SELECT ok FROM lock), id, payload FROM taken RIGHT JOIN lock ON true ORDER BY id;
COMMIT;

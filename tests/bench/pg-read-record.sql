-- pgbench ceiling for GET one record: the statements pawl sends for
-- GET /v1/buckets/B/collections/C/records/R, in its order, each in autocommit,
-- with the values bound as parameters (run with -M extended: unnamed
-- statements, parsed and planned at every execution, as pawl's PQexecParams).
-- Taken from PostgreSQL's log of a real request (log_statement = all):
-- app/store/objects.c (pawl_objects_get), app/store/acl.c (the permission
-- check, then the object's ACL for the "permissions" member of the answer).
-- tests/bench/run defines the variables with -D:
--   parent     /buckets/B/collections/C        rname   record
--   rid        the record id                   uri     parent || '/records/' || rid
--   objs       {uri,uri,parent,parent,/buckets/B,/buckets/B}
--   perms      {write,read,write,read,write,read}
--   principals {<user id>,system.Everyone,system.Authenticated}
SELECT data::text, last_modified, deleted FROM objects WHERE parent_id = :parent AND resource_name = :rname AND id = :rid;
SELECT EXISTS (SELECT 1 FROM access_control_entries a JOIN unnest(:objs::text[], :perms::text[]) AS g(o, p) ON a.object_id = g.o AND a.permission = g.p WHERE a.principal = ANY(:principals::text[] || ARRAY(SELECT principal FROM user_principals WHERE user_id = ANY(:principals::text[]))));
SELECT coalesce(jsonb_object_agg(permission, principals), '{}')::text FROM (SELECT permission, jsonb_agg(principal ORDER BY principal) AS principals FROM access_control_entries WHERE object_id = :uri GROUP BY permission) t;

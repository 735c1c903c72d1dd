-- Written by tests/bench/run from PostgreSQL's log of a real request (get-2,
-- log_statement = all): the statements pawl sent, in order, each parameter a
-- variable the run defines with -D (pgbench numbers every use of a variable as
-- a parameter of its own). Rewritten at every run: a diff means the SQL changed.
SELECT data::text, last_modified, deleted FROM objects WHERE parent_id = '' AND resource_name = :s1p2 AND id = :s1p3;
SELECT 0, o.data::text, o.last_modified::text, o.deleted::text FROM objects o WHERE o.parent_id = :s2p1 AND o.resource_name = :s2p2 AND o.id = :s2p3 UNION ALL SELECT 1, a.permission, a.principal, NULL FROM access_control_entries a WHERE a.object_id = :s2p4 UNION ALL SELECT 2, a.object_id, a.permission, NULL FROM access_control_entries a WHERE a.object_id = ANY((SELECT :s2p6::text[])::text[]) AND a.principal = ANY(:s2p5::text[] || ARRAY(SELECT principal FROM user_principals WHERE user_id = ANY(:s2p5::text[])));

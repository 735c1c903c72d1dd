-- Timestamps beyond 2^53, which older versions took from any client's
-- data.last_modified: JavaScript clients cannot represent them, and a list
-- timestamp at 2^63 - 1 made every later write of its list fail. Such
-- objects (and tombstones) get fresh timestamps after their list's last sane
-- one, in their former order; their list timestamp follows.
WITH sane AS (
    SELECT parent_id, resource_name,
           GREATEST((extract(epoch FROM clock_timestamp()) * 1000)::bigint,
                    coalesce(max(last_modified) FILTER (WHERE last_modified <= 9007199254740992), 0))
               AS base
    FROM objects
    GROUP BY parent_id, resource_name
    HAVING max(last_modified) > 9007199254740992
), renumbered AS (
    SELECT o.parent_id, o.resource_name, o.id,
           s.base + row_number() OVER (PARTITION BY o.parent_id, o.resource_name
                                       ORDER BY o.last_modified) AS ts
    FROM objects o JOIN sane s USING (parent_id, resource_name)
    WHERE o.last_modified > 9007199254740992
)
UPDATE objects o
SET last_modified = r.ts,
    data = o.data || jsonb_build_object('last_modified', r.ts)
FROM renumbered r
WHERE o.parent_id = r.parent_id AND o.resource_name = r.resource_name AND o.id = r.id;

UPDATE timestamps t
SET last_modified = GREATEST((extract(epoch FROM clock_timestamp()) * 1000)::bigint,
    coalesce((SELECT max(o.last_modified) FROM objects o
              WHERE o.parent_id = t.parent_id AND o.resource_name = t.resource_name), 0))
WHERE t.last_modified > 9007199254740992;

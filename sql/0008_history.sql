-- Kinto's history (README, "History"): entries are objects of the list
-- (parent_id '/buckets/<bid>', resource_name 'history'), so the list code,
-- its index on (parent_id, resource_name, last_modified) and the list
-- timestamps serve them as any list: _since polling, pages, trimming per
-- bucket. What the list code cannot know is who may read an entry without
-- reading the whole bucket: the principals that could read the object when
-- it changed (bucket, collection and object read+write). They are kept beside
-- the entry, each as '<bucket URI> <principal>' (a bucket id has no space),
-- rather than as one ACE row per principal per entry. NULL on every other row.
ALTER TABLE objects ADD COLUMN history_readers text[] COLLATE "C";

-- "This bucket's entries shared with one of my principals": one GIN lookup
-- per principal, whose cost follows what the caller may see in that bucket,
-- never the bucket's size nor other buckets' entries.
CREATE INDEX objects_history_readers ON objects USING gin (history_readers)
    WHERE resource_name = 'history';

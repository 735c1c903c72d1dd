-- Kinto's history (README, "History"): entries are objects of the list
-- (parent_id '/buckets/<bid>', resource_name 'history'), so the list code,
-- its index on (parent_id, resource_name, last_modified) and the list
-- timestamps serve them as any list. What the list code cannot know is who
-- may read an entry that its reader may not read the whole bucket for: the
-- principals that could read the object when it changed (bucket, collection
-- and object read+write), kept beside the entry rather than as one ACE row
-- per principal per entry. NULL on every other row: no space, no index entry.
ALTER TABLE objects ADD COLUMN read_principals text[] COLLATE "C";

-- "Entries shared with one of my principals": read_principals && $principals.
CREATE INDEX objects_history_readers ON objects USING gin (read_principals)
    WHERE resource_name = 'history';

-- Trimming by age across every bucket, oldest first, in bounded batches.
CREATE INDEX objects_history_age ON objects (last_modified)
    WHERE resource_name = 'history';

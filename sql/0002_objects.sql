-- Objects of every resource, tombstones included, and one timestamp row per
-- list. Columns that hold URIs sort bytewise (COLLATE "C") so that the children
-- of an object are one index range: parent_id >= '/buckets/b/' AND < '/buckets/b0'.
CREATE TABLE objects (
    parent_id text COLLATE "C" NOT NULL,
    resource_name text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    last_modified bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    -- The whole object as served, "id" and "last_modified" included, so reads
    -- send PostgreSQL's text as it is; a tombstone is {id, last_modified, deleted}.
    data jsonb NOT NULL,
    PRIMARY KEY (parent_id, resource_name, id)
);

-- One list's objects by timestamp: lists, _since/_before, keyset pages.
-- Unique: a list's timestamps never repeat (timestamps below assigns them).
CREATE UNIQUE INDEX objects_list_modified
    ON objects (parent_id, resource_name, last_modified DESC);

-- The list timestamp, bumped under its row lock inside every write
-- transaction: GREATEST(now, previous + 1), strictly increasing in commit order.
CREATE TABLE timestamps (
    parent_id text COLLATE "C" NOT NULL,
    resource_name text COLLATE "C" NOT NULL,
    last_modified bigint NOT NULL,
    PRIMARY KEY (parent_id, resource_name)
);

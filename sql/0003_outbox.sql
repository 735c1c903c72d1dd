-- The outbox: one row per event per durable listener, written in the same
-- transaction as the change. Rows are deleted once pushed. Within a list
-- (list_key), id order is commit order: rows are inserted after the list
-- timestamp's row lock is taken, which serialises the list's writers.
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    listener text COLLATE "C" NOT NULL,
    list_key text COLLATE "C" NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_list ON outbox (listener, list_key, id);

-- The personal buckets that /buckets/default created implicitly, and for
-- whom. The implicit creation only ever uses a bucket recorded here for the
-- caller: the bucket id is derived from the user id, so anyone who knows the
-- key could stand a bucket of their own under it first.
CREATE TABLE personal_buckets (
    bucket_id text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL
);

-- A deleted bucket forgets its owner: whoever creates that id next (anyone
-- allowed to create buckets may) makes a bucket that is not a personal one.
CREATE FUNCTION personal_buckets_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM personal_buckets WHERE bucket_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER personal_buckets_tombstone AFTER UPDATE ON objects FOR EACH ROW
    WHEN (OLD.parent_id = '' AND OLD.resource_name = 'bucket' AND NEW.deleted AND NOT OLD.deleted)
    EXECUTE FUNCTION personal_buckets_forget();

CREATE TRIGGER personal_buckets_purge AFTER DELETE ON objects FOR EACH ROW
    WHEN (OLD.parent_id = '' AND OLD.resource_name = 'bucket' AND NOT OLD.deleted)
    EXECUTE FUNCTION personal_buckets_forget();

-- Base schema: settings the server keeps about itself. The heartbeat's write
-- check upserts one row here, so a read-only database shows up as unhealthy.
CREATE TABLE IF NOT EXISTS pawl_metadata (
    name text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pawl_metadata (name, value) VALUES ('created_at', now()::text)
    ON CONFLICT (name) DO NOTHING;

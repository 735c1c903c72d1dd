-- Kinto's permission model (docs/protocol.md §5): access control entries per
-- object URI, and the principals (groups) each user holds. Checks run in SQL
-- with the request's principals; nothing is cached in the workers.
CREATE TABLE access_control_entries (
    object_id text COLLATE "C" NOT NULL,
    permission text COLLATE "C" NOT NULL,
    principal text COLLATE "C" NOT NULL,
    PRIMARY KEY (object_id, permission, principal)
);
CREATE INDEX access_control_entries_principal ON access_control_entries (principal);

-- Group membership: ("basicauth:…", "/buckets/b/groups/g"). A user_id of
-- 'system.Authenticated' or 'system.Everyone' applies to every such caller.
CREATE TABLE user_principals (
    user_id text COLLATE "C" NOT NULL,
    principal text COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, principal)
);
CREATE INDEX user_principals_principal ON user_principals (principal);

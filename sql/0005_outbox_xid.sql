-- The transaction that wrote each outbox row. With early lock release
-- (storage_early_lock_release) a row is visible a moment before its commit is
-- on disk; delivery takes only rows whose transaction a synchronous barrier
-- commit has seen finished (pg_visible_in_snapshot), so no event reaches Redis
-- for a change a crash could still undo.
ALTER TABLE outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();

/*
 * Applies sql/ migrations compiled into the binary: one transaction per
 * migration, each under a transaction-level advisory lock and checking
 * under it that no other process applied it meanwhile, so web heads that
 * start together never race. Transaction-level, not a session lock held
 * across them: through a pooler in transaction mode (PgBouncer) each
 * transaction may run on another server session, and a session lock taken
 * on one and released on another would stay held by the pool for ever
 * (docs/deployment.md, PgBouncer). Never edits an applied migration: they
 * are append-only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/migrate.h"
#include "store/pg.h"

/* Arbitrary, fixed: "pawl" in ASCII. */
#define MIGRATE_LOCK_KEY "1885435756"

unsigned pawl_migrate_latest(void)
{
	unsigned i, v = 0;

	for (i = 0; i < pawl_migrations_count; i++)
		if (pawl_migrations[i].version > v)
			v = pawl_migrations[i].version;
	return v;
}

static enum pawl_err current_version(struct pawl_pg *pg, struct pawl_arena *arena,
    unsigned *version, struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT coalesce(max(version), 0) FROM pawl_migrations", 0, NULL, 0 }, &res, err);

	if (rc == PAWL_OK)
		*version = (unsigned)strtoul(pawl_pg_value(res, 0, 0), NULL, 10);
	return rc;
}

struct step {
	struct pawl_pg *pg;
	struct pawl_arena *arena;
	const struct pawl_migration *m; /* NULL: the version table only */
	bool applied;
};

/* Inside a step's transaction: every other migrating process waits here until it ends. */
#define LOCK_SQL "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")"

/*
 * The migration's script and its row in pawl_migrations, in one transaction,
 * under the lock; nothing when another process applied it first.
 */
static enum pawl_err run_step(void *ctx, struct pawl_error *err)
{
	struct step *st = ctx;
	char version[16];
	const char *params[2] = { version, NULL };
	struct pg_result *res;
	enum pawl_err rc;

	if (st->m == NULL)
		return pawl_pg_exec_script(st->pg, LOCK_SQL "; CREATE TABLE IF NOT EXISTS "
		    "pawl_migrations (version integer PRIMARY KEY, name text NOT NULL,"
		    " applied_at timestamptz NOT NULL DEFAULT now())", err);
	snprintf(version, sizeof(version), "%u", st->m->version);
	params[1] = st->m->name;
	if ((rc = pawl_pg_exec_script(st->pg, LOCK_SQL, err)) != PAWL_OK ||
	    (rc = pawl_pg_exec(st->pg, st->arena, &(struct pawl_pg_stmt){
	    "SELECT 1 FROM pawl_migrations WHERE version = $1", 1, params, 0 }, &res, err)) != PAWL_OK)
		return rc;
	if (pawl_pg_rows(res) > 0)
		return PAWL_OK;
	pawl_log_info("applying migration %04u_%s", st->m->version, st->m->name);
	if ((rc = pawl_pg_exec_script(st->pg, st->m->sql, err)) != PAWL_OK)
		return rc;
	st->applied = true;
	return pawl_pg_exec(st->pg, st->arena, &(struct pawl_pg_stmt){
	    "INSERT INTO pawl_migrations (version, name) VALUES ($1, $2)", 2, params, 0 }, NULL, err);
}

/* One step in its own transaction; *applied: it ran the migration (not another process). */
static enum pawl_err apply(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_migration *m, bool *applied, struct pawl_error *err)
{
	struct step st = { pg, arena, m, false };
	enum pawl_err rc = pawl_pg_transaction(pg, arena, PAWL_PG_TXN_SCRIPT, run_step, &st, err);

	*applied = rc == PAWL_OK && st.applied;
	return rc;
}

enum pawl_err pawl_migrate_run(struct pawl_pg *pg, unsigned *applied, struct pawl_error *err)
{
	struct pawl_arena *arena = pawl_arena_new(4096);
	unsigned have = 0, i;
	enum pawl_err rc;
	bool ran;

	*applied = 0;
	if (arena == NULL)
		return pawl_error_nomem(err);
	/* The version read outside the lock only skips what is surely done; each step checks again. */
	if ((rc = apply(pg, arena, NULL, &ran, err)) != PAWL_OK ||
	    (rc = current_version(pg, arena, &have, err)) != PAWL_OK)
		goto out;
	for (i = 0; i < pawl_migrations_count; i++) {
		const struct pawl_migration *m = &pawl_migrations[i];

		if (m->version <= have)
			continue;
		if ((rc = apply(pg, arena, m, &ran, err)) != PAWL_OK)
			goto out;
		*applied += ran;
	}
out:
	pawl_arena_free(arena);
	return rc;
}

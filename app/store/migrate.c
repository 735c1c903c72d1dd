/*
 * Applies sql/ migrations compiled into the binary: one transaction per
 * migration, all under a session advisory lock so web heads that start
 * together never race. Never edits an applied migration: they are append-only.
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
	const struct pawl_migration *m;
};

/* The migration's script and its row in pawl_migrations, in one transaction. */
static enum pawl_err run_step(void *ctx, struct pawl_error *err)
{
	const struct step *st = ctx;
	char version[16];
	const char *params[2] = { version, st->m->name };
	enum pawl_err rc;

	snprintf(version, sizeof(version), "%u", st->m->version);
	if ((rc = pawl_pg_exec_script(st->pg, st->m->sql, err)) != PAWL_OK)
		return rc;
	return pawl_pg_exec(st->pg, st->arena, &(struct pawl_pg_stmt){
	    "INSERT INTO pawl_migrations (version, name) VALUES ($1, $2)", 2, params, 0 }, NULL, err);
}

static enum pawl_err apply(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_migration *m, struct pawl_error *err)
{
	struct step st = { pg, arena, m };

	return pawl_pg_transaction(pg, arena, PAWL_PG_TXN_SCRIPT, run_step, &st, err);
}

enum pawl_err pawl_migrate_run(struct pawl_pg *pg, unsigned *applied, struct pawl_error *err)
{
	struct pawl_arena *arena = pawl_arena_new(4096);
	unsigned have = 0, i;
	enum pawl_err rc;

	*applied = 0;
	if (arena == NULL)
		return pawl_error_nomem(err);
	rc = pawl_pg_exec_script(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ");"
	    "CREATE TABLE IF NOT EXISTS pawl_migrations ("
	    " version integer PRIMARY KEY, name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())", err);
	if (rc != PAWL_OK)
		goto out;
	if ((rc = current_version(pg, arena, &have, err)) != PAWL_OK)
		goto unlock;
	for (i = 0; i < pawl_migrations_count; i++) {
		const struct pawl_migration *m = &pawl_migrations[i];

		if (m->version <= have)
			continue;
		pawl_log_info("applying migration %04u_%s", m->version, m->name);
		if ((rc = apply(pg, arena, m, err)) != PAWL_OK)
			goto unlock;
		(*applied)++;
	}
unlock:
	{
		struct pawl_error ignored;

		pawl_pg_exec_script(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", &ignored);
	}
out:
	pawl_arena_free(arena);
	return rc;
}

/*
 * Schema migrations from sql/NNNN_name.sql, compiled into the binary.
 * `pawl-fcgi migrate` applies the missing ones under an advisory lock, one
 * transaction each; workers refuse to serve a database that is behind.
 */
#ifndef PAWL_MIGRATE_H
#define PAWL_MIGRATE_H

#include "core/err.h"

struct pawl_pg;

struct pawl_migration {
	unsigned version;
	const char *name;
	const char *sql;
};

/* Generated table, terminated by a { 0, NULL, NULL } row. */
extern const struct pawl_migration pawl_migrations[];
extern const unsigned pawl_migrations_count;

/* The version the schema must be at for this binary. */
unsigned pawl_migrate_latest(void);

/*
 * Applies every missing migration. Safe to run concurrently from several
 * hosts (pg_advisory_lock) and idempotent. *applied gets how many ran.
 */
enum pawl_err pawl_migrate_run(struct pawl_pg *pg, unsigned *applied, struct pawl_error *err);

#endif

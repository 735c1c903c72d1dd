/*
 * A worker's long-lived context: the config, the resource table, the
 * router, the PostgreSQL connection, the subscribers and the listeners. Built
 * once per worker process; every request borrows it, none changes it except
 * through the handles' own functions.
 */
#ifndef PAWL_APP_H
#define PAWL_APP_H

#include <stddef.h>
#include <stdio.h>

#include "pawl/config.h"
#include "pawl/err.h"

struct pawl_resources;
struct pawl_router;
struct pawl_pg;
struct pawl_events;
struct pawl_listeners;
struct pawl_auth_key;
struct pawl_accounts_cache;

struct pawl_app {
	const struct pawl_config *cfg;
	struct pawl_resources *resources;
	struct pawl_router *router;
	struct pawl_pg *pg;
	struct pawl_events *events;       /* in-process subscribers (plugins included) */
	struct pawl_listeners *listeners; /* configured listeners */
	struct pawl_auth_key *auth_key;   /* userid_hmac_secret, keyed once (NULL: none set) */
	struct pawl_accounts_cache *accounts; /* the `account` policy's cache (NULL: not enabled) */
	char *version_json; /* /__version__ body, compact JSON */
	long long eos;      /* end of service (time_t), 0 when none */
};

/* Builds the context for cfg (borrowed; must outlive the app). No I/O to servers. */
struct pawl_app *pawl_app_new(const struct pawl_config *cfg, struct pawl_error *err);
void pawl_app_free(struct pawl_app *app);

/*
 * Checks cfg as pawl_app_new would, without side effects: plugins are
 * loaded and their entry point found but not called (they open no file),
 * Redis URLs are parsed, nothing connects. For `check`, and before a start
 * binds its socket.
 */
enum pawl_err pawl_app_check(const struct pawl_config *cfg, struct pawl_error *err);

/*
 * `check --connect` (app/check.c): connects to PostgreSQL (and checks the
 * schema version) and PINGs each Redis listener, one line each on out.
 * Returns 0 when all answered, 1 otherwise.
 */
int pawl_check_connect(const struct pawl_config *cfg, FILE *out);

#endif

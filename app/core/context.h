/*
 * A worker's long-lived context: the config, the resource table, the
 * router, the PostgreSQL connection and the store over it, the subscribers and the listeners. Built
 * once per worker process by the root (app.c); every request borrows it, none
 * changes it except through the handles' own functions. Only handles here:
 * each layer includes the headers of the parts it uses.
 */
#ifndef PAWL_CONTEXT_H
#define PAWL_CONTEXT_H

#include "core/config.h"

struct pawl_resource_table;
struct pawl_router;
struct pawl_pg;
struct pawl_store;
struct pawl_subscribers;
struct pawl_listener_set;
struct pawl_hmac_key;
struct pawl_accounts_cache;
struct pawl_dispatch;

struct pawl_app {
	const struct pawl_config *cfg;
	struct pawl_resource_table *resources;
	struct pawl_router *router;
	const struct pawl_dispatch *dispatch; /* the handlers http/ dispatches to (app.c) */
	struct pawl_pg *pg;
	struct pawl_store *store;  /* what the handlers see: pg behind store/store.h */
	struct pawl_subscribers *subscribers;      /* in-process subscribers (plugins included) */
	struct pawl_listener_set *listeners; /* configured listeners */
	struct pawl_hmac_key *auth_key;   /* userid_hmac_secret, keyed once (NULL: none set) */
	struct pawl_accounts_cache *accounts; /* the `account` policy's cache (NULL: not enabled) */
	char *version_json; /* /__version__ body, compact JSON */
	/* Kinto Admin found in admin_assets_path: its VERSION ("" without one); NULL when absent. */
	char *admin_version;
	long long eos;      /* end of service (time_t), 0 when none */
};

#endif

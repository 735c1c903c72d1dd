/*
 * `pawl-fcgi check --connect`: after the side-effect-free check, reaches the
 * servers the config names (PostgreSQL and its schema version, each Redis
 * listener) and prints what it tried and how that went. Writes nothing to
 * either server.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "events/redis.h"
#include "events/listener_set.h"

#define REDIS_TIMEOUT_MS 2000

static int check_pg(const struct pawl_config *cfg, FILE *out)
{
	struct pawl_pg *pg = pawl_pg_new(cfg);
	struct pawl_error err;
	int status = 1;

	fprintf(out, "PostgreSQL (storage_url): connecting and checking the schema is at "
	    "version %u... ", pawl_migrate_latest());
	if (pg == NULL)
		fprintf(out, "failed: out of memory\n");
	else if (pawl_pg_connect(pg, true, &err) != PAWL_OK)
		fprintf(out, "failed: %s\n", err.message);
	else
		status = 0;
	if (status == 0)
		fprintf(out, "OK\n");
	pawl_pg_free(pg);
	return status;
}

static int check_redis(const struct pawl_listener_config *l, FILE *out)
{
	struct pawl_redis_url url;
	struct pawl_redis *r = NULL;
	struct pawl_error err;
	int status = 1;

	/* The address only: the URL may carry a password. */
	if (pawl_listener_redis_new(l, REDIS_TIMEOUT_MS, &r, &err) != PAWL_OK) {
		fprintf(out, "Redis listener '%s': %s\n", l->name, err.message);
		return 1;
	}
	if (l->sentinels != NULL)
		fprintf(out, "Redis listener '%s' (master '%s' through Sentinel, db %d): ROLE... ",
		    l->name, l->sentinel_master, l->sentinel_db);
	else if (pawl_redis_parse_url(l->url, &url, &err) == PAWL_OK && url.path[0] != '\0')
		fprintf(out, "Redis listener '%s' (%s, db %d): PING... ", l->name, url.path, url.db);
	else
		fprintf(out, "Redis listener '%s' (%s:%d, db %d): PING... ", l->name, url.host,
		    url.port, url.db);
	if (pawl_redis_ping(r, REDIS_TIMEOUT_MS, &err) != PAWL_OK)
		fprintf(out, "failed: %s\n", err.message);
	else
		status = 0;
	if (status == 0)
		fprintf(out, "OK\n");
	pawl_redis_free(r);
	return status;
}

int pawl_check_connect(const struct pawl_config *cfg, FILE *out)
{
	int status = check_pg(cfg, out);
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (strcmp(cfg->listeners[i].use, "redis") == 0)
			status |= check_redis(&cfg->listeners[i], out);
	fflush(out);
	return status;
}

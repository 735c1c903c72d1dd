/*
 * libFuzzer target: arbitrary request paths and query strings through the
 * router. A redirect's Location must never hold a control character, and a
 * route's matchdict values must be non-empty and free of '/'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/resource_table.h"
#include "http/router.h"
#include "core/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once and kept, as in a worker (reachable, so not reported as leaks). */
static struct pawl_config *cfg;
static struct pawl_resource_table *res;
static struct pawl_router *router;
static struct pawl_arena *arena;

static void setup(void)
{
	struct pawl_error err;

	cfg = pawl_config_parse("[app:main]\n", "fuzz.ini", NULL, &err);
	res = cfg ? pawl_resource_table_new(cfg, &err) : NULL;

	router = res ? pawl_router_new(res, cfg, &err) : NULL;
	arena = pawl_arena_new(65536);
	if (router == NULL || arena == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pawl_error err;
	struct pawl_match m;
	char *path, *query;
	size_t i;

	if (router == NULL)
		setup();
	path = pawl_arena_strndup(arena, (const char *)data, size);
	query = strchr(path, '?');
	if (query != NULL)
		*query++ = '\0';
	if (pawl_router_match(router, arena, &(struct pawl_request_line){ PAWL_METHOD_GET, path,
	    query }, &m, &err) == PAWL_OK) {
		if (m.location != NULL && pawl_str_has_ctl(m.location))
			abort();
		for (i = 0; m.route != NULL && i < m.md.n; i++)
			if (m.md.kv[i].value[0] == '\0' || strchr(m.md.kv[i].value, '/') != NULL)
				abort();
	}
	pawl_arena_reset(arena);
	return 0;
}

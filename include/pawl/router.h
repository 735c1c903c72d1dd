/*
 * URL routing: the pattern table (service endpoints + every resource's list
 * and item patterns) turns a request path into a route and its matchdict,
 * or into Kinto's redirects and errors (307, 404 errno 111/116, 405 + Allow).
 * Pure: no I/O, so tests and fuzzers feed it paths.
 */
#ifndef PAWL_ROUTER_H
#define PAWL_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "pawl/arena.h"
#include "pawl/config.h"
#include "pawl/err.h"
#include "pawl/resources.h"

#define PAWL_ROUTER_MAX_VARS 8
#define PAWL_API_PREFIX "/v1"

enum pawl_method {
	PAWL_METHOD_GET = 1u << 0,
	PAWL_METHOD_HEAD = 1u << 1,
	PAWL_METHOD_POST = 1u << 2,
	PAWL_METHOD_PUT = 1u << 3,
	PAWL_METHOD_PATCH = 1u << 4,
	PAWL_METHOD_DELETE = 1u << 5,
	PAWL_METHOD_OPTIONS = 1u << 6
};

/* The bit for a method name (exact, upper case), 0 when unknown. */
unsigned pawl_method_parse(const char *name);

enum pawl_route_kind {
	PAWL_ROUTE_HELLO,
	PAWL_ROUTE_HEARTBEAT,
	PAWL_ROUTE_LBHEARTBEAT,
	PAWL_ROUTE_VERSION,
	PAWL_ROUTE_BATCH,
	PAWL_ROUTE_LIST,
	PAWL_ROUTE_ITEM
};

struct pawl_route {
	enum pawl_route_kind kind;
	const struct pawl_resource *resource; /* LIST and ITEM only */
	const char *pattern;                  /* without the /v1 prefix */
	unsigned methods;                     /* PAWL_METHOD_* bits */
};

struct pawl_matchdict {
	size_t n;
	struct {
		const char *name;  /* placeholder name, e.g. "bucket_id"; "id" for the object */
		const char *value; /* decoded segment, in the request arena */
	} kv[PAWL_ROUTER_MAX_VARS];
};

/* The value of a placeholder, or NULL. */
const char *pawl_matchdict_get(const struct pawl_matchdict *md, const char *name);

struct pawl_match {
	const struct pawl_route *route; /* set when the path matched */
	struct pawl_matchdict md;
	const char *location;  /* set for a redirect (status 307) */
	int cache_ttl;         /* redirect's Cache-Control max-age, -1 for none */
	const char *allow;     /* "GET, HEAD, ..." for a 405 */
	const char *path;      /* the decoded path without /v1 ("/buckets/b1") */
};

struct pawl_router;

/* Builds the table from the resources. The router borrows res and cfg. */
struct pawl_router *pawl_router_new(const struct pawl_resources *res,
    const struct pawl_config *cfg, struct pawl_error *err);
void pawl_router_free(struct pawl_router *router);

/*
 * Routes raw_path (the request URI up to '?', still percent-encoded) for
 * method. query is the raw query string or NULL; it is kept in redirects.
 * Returns PAWL_OK with out->route set, or PAWL_OK with out->location set
 * (answer 307), or an error: PAWL_ERR_INVALID (path not valid UTF-8),
 * PAWL_ERR_NOT_FOUND, PAWL_ERR_VERSION, PAWL_ERR_METHOD (out->allow set).
 * Strings in out live in the arena.
 */
enum pawl_err pawl_router_match(const struct pawl_router *router, struct pawl_arena *arena,
    unsigned method, const char *raw_path, const char *query, struct pawl_match *out,
    struct pawl_error *err);

#endif

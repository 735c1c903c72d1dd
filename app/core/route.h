/*
 * The vocabulary of a routed request, shared by every layer: method bits,
 * route kinds, the route a path matched and its matchdict (the placeholder
 * values events carry). The router (http/router.c) fills them; nothing here
 * does I/O.
 */
#ifndef PAWL_ROUTE_H
#define PAWL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/resource_table.h"

#define PAWL_MATCHDICT_MAX 8
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

/* The i-th method in alphabetical order (Allow's order) and its bit; NULL past the last. */
const char *pawl_method_name_at(size_t i, unsigned *bit);

enum pawl_route_kind {
	PAWL_ROUTE_HELLO,
	PAWL_ROUTE_HEARTBEAT,
	PAWL_ROUTE_LBHEARTBEAT,
	PAWL_ROUTE_VERSION,
	PAWL_ROUTE_BATCH,
	PAWL_ROUTE_LIST,
	PAWL_ROUTE_ITEM,
	PAWL_ROUTE_METRICS, /* only routed when metrics_enabled */
	PAWL_ROUTE_PERMISSIONS, /* only routed when experimental_permissions_endpoint */
	PAWL_ROUTE_KINDS /* how many kinds there are */
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
	} kv[PAWL_MATCHDICT_MAX];
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

#endif

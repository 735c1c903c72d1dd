/*
 * URL routing: the pattern table (service endpoints + every resource's list
 * and item patterns) turns a request path into a route and its matchdict,
 * or into Kinto's redirects and errors (307, 404 errno 111/116, 405 + Allow).
 * Pure: no I/O, so tests and fuzzers feed it paths.
 */
#ifndef PAWL_ROUTER_H
#define PAWL_ROUTER_H

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "core/resource_table.h"
#include "core/route.h"

struct pawl_router;

/* Builds the table from the resources. The router borrows res and cfg. */
struct pawl_router *pawl_router_new(const struct pawl_resource_table *res,
    const struct pawl_config *cfg, struct pawl_error *err);
void pawl_router_free(struct pawl_router *router);

/* What a request asks the router: its method and its target. */
struct pawl_request_line {
	unsigned method;      /* one PAWL_METHOD_* bit */
	const char *raw_path; /* the request URI up to '?', still percent-encoded */
	const char *query;    /* the raw query string or NULL; kept in redirects */
};

/*
 * Routes line->raw_path for line->method.
 * Returns PAWL_OK with out->route set, or PAWL_OK with out->location set
 * (answer 307), or an error: PAWL_ERR_INVALID (path not valid UTF-8),
 * PAWL_ERR_NOT_FOUND, PAWL_ERR_VERSION, PAWL_ERR_METHOD (out->allow set).
 * Strings in out live in the arena.
 */
enum pawl_err pawl_router_match(const struct pawl_router *router, struct pawl_arena *arena,
    const struct pawl_request_line *line, struct pawl_match *out, struct pawl_error *err);

#endif

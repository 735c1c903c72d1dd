/*
 * The URL pattern table and the matcher. Patterns are split into literal
 * and placeholder segments once, at startup; a request path is decoded,
 * split and compared segment by segment. Never does I/O, never reflects a
 * control character into a Location.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"
#include "core/str.h"

#define MAX_SEGMENTS 16

struct segment {
	char *text;  /* literal, or placeholder name without braces */
	bool var;
};

struct compiled {
	struct pawl_route route;
	struct segment segs[MAX_SEGMENTS];
	size_t n;
};

struct pawl_router {
	struct compiled *routes;
	size_t n;
	const struct pawl_config *cfg;
};


static const struct {
	enum pawl_route_kind kind;
	const char *pattern;
	unsigned methods;
} service_routes[] = {
	{ PAWL_ROUTE_HELLO, "/", PAWL_METHOD_GET | PAWL_METHOD_HEAD },
	{ PAWL_ROUTE_HEARTBEAT, "/__heartbeat__", PAWL_METHOD_GET | PAWL_METHOD_HEAD },
	{ PAWL_ROUTE_LBHEARTBEAT, "/__lbheartbeat__", PAWL_METHOD_GET | PAWL_METHOD_HEAD },
	{ PAWL_ROUTE_VERSION, "/__version__", PAWL_METHOD_GET | PAWL_METHOD_HEAD },
	{ PAWL_ROUTE_BATCH, "/batch", PAWL_METHOD_POST },
	{ PAWL_ROUTE_METRICS, "/__metrics__", PAWL_METHOD_GET | PAWL_METHOD_HEAD },
	{ PAWL_ROUTE_PERMISSIONS, "/permissions", PAWL_METHOD_GET | PAWL_METHOD_HEAD },
};

#define N_SERVICE (sizeof(service_routes) / sizeof(service_routes[0]))

#define LIST_METHODS (PAWL_METHOD_GET | PAWL_METHOD_HEAD | PAWL_METHOD_POST | PAWL_METHOD_DELETE)
/* HEAD on an object answers as GET without a body, as Kinto (Pyramid) does. */
#define ITEM_METHODS (PAWL_METHOD_GET | PAWL_METHOD_HEAD | PAWL_METHOD_PUT | PAWL_METHOD_PATCH | \
	PAWL_METHOD_DELETE)

/* Splits "/a/{b}/c" into segments; "/" has none. */
static enum pawl_err compile(struct compiled *c, const char *pattern, struct pawl_error *err)
{
	const char *p = pattern;

	c->n = 0;
	if (*p != '/')
		return pawl_error_set(err, PAWL_ERR_CONFIG, "URL pattern '%s' must start with '/'", pattern);
	while (*p == '/' && p[1] != '\0') {
		const char *start = ++p, *end = strchr(start, '/');
		size_t len = end ? (size_t)(end - start) : strlen(start);
		struct segment *s = &c->segs[c->n];

		if (len == 0 || c->n == MAX_SEGMENTS)
			return pawl_error_set(err, PAWL_ERR_CONFIG, "URL pattern '%s' is malformed", pattern);
		s->var = start[0] == '{' && start[len - 1] == '}';
		s->text = s->var ? strndup(start + 1, len - 2) : strndup(start, len);
		if (s->text == NULL)
			return pawl_error_nomem(err);
		c->n++;
		if (s->var && (len < 3 || strspn(s->text, "abcdefghijklmnopqrstuvwxyz_") != len - 2)) {
			return pawl_error_set(err, PAWL_ERR_CONFIG,
			    "URL pattern '%s': bad placeholder", pattern);
		}
		/* Placeholders become event payload keys (events/stage.c): "impacted" is taken. */
		if (s->var && strcmp(s->text, "impacted") == 0)
			return pawl_error_set(err, PAWL_ERR_CONFIG, "URL pattern '%s': placeholder "
			    "{impacted} is reserved (an event payload key)", pattern);
		p = start + len;
	}
	return PAWL_OK;
}

void pawl_router_free(struct pawl_router *r)
{
	size_t i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		for (j = 0; j < r->routes[i].n; j++)
			free(r->routes[i].segs[j].text);
	free(r->routes);
	free(r);
}

static enum pawl_err add(struct pawl_router *r, enum pawl_route_kind kind,
    const struct pawl_resource *res, const char *pattern, unsigned meth, struct pawl_error *err)
{
	struct compiled *c = &r->routes[r->n++];

	c->route.kind = kind;
	c->route.resource = res;
	c->route.pattern = pattern;
	c->route.methods = meth;
	return compile(c, pattern, err);
}

/* Switched off, __metrics__ and /permissions are a 404 like any unknown URL. */
static bool switched_on(const struct pawl_config *cfg, enum pawl_route_kind kind)
{
	if (kind == PAWL_ROUTE_METRICS)
		return cfg->metrics_enabled;
	if (kind == PAWL_ROUTE_PERMISSIONS)
		return cfg->experimental_permissions_endpoint;
	return true;
}

struct pawl_router *pawl_router_new(const struct pawl_resource_table *res,
    const struct pawl_config *cfg, struct pawl_error *err)
{
	struct pawl_router *r = calloc(1, sizeof(*r));
	size_t i;

	if (r == NULL || (r->routes = calloc(N_SERVICE + 2 * res->n + 1, sizeof(*r->routes))) == NULL) {
		pawl_error_nomem(err);
		goto fail;
	}
	r->cfg = cfg;
	for (i = 0; i < N_SERVICE; i++)
		if (switched_on(cfg, service_routes[i].kind) && add(r, service_routes[i].kind, NULL,
		    service_routes[i].pattern, service_routes[i].methods, err) != PAWL_OK)
			goto fail;
	for (i = 0; i < res->n; i++) {
		const struct pawl_resource *rs = &res->items[i];

		if (add(r, PAWL_ROUTE_LIST, rs, rs->list_pattern, LIST_METHODS, err) != PAWL_OK ||
		    add(r, PAWL_ROUTE_ITEM, rs, rs->item_pattern, ITEM_METHODS, err) != PAWL_OK)
			goto fail;
	}
	/* Kinto's history is read and purged, never posted to; switched off it is a 404. */
	if (res->has_history && add(r, PAWL_ROUTE_LIST, &res->history, res->history.list_pattern,
	    PAWL_METHOD_GET | PAWL_METHOD_HEAD | PAWL_METHOD_DELETE, err) != PAWL_OK)
		goto fail;
	return r;
fail:
	pawl_router_free(r);
	return NULL;
}

/* Splits a decoded path (after /v1) into segments in place; -1 on an empty one. */
static int split(char *path, char **segs, size_t max)
{
	size_t n = 0;
	char *p = path + 1;

	if (*p == '\0')
		return 0;
	for (;;) {
		char *end = p + strcspn(p, "/");

		if (end == p || n == max)
			return -1; /* empty segment, trailing slash, or too deep */
		segs[n++] = p;
		if (*end == '\0')
			return (int)n;
		*end = '\0';
		p = end + 1;
	}
}

static bool match_route(const struct compiled *c, char **segs, size_t n, struct pawl_matchdict *md)
{
	size_t i;

	if (c->n != n)
		return false;
	md->n = 0;
	for (i = 0; i < n; i++) {
		if (!c->segs[i].var) {
			if (strcmp(c->segs[i].text, segs[i]) != 0)
				return false;
			continue;
		}
		if (md->n == PAWL_MATCHDICT_MAX)
			return false;
		md->kv[md->n].name = c->segs[i].text;
		md->kv[md->n].value = segs[i];
		md->n++;
	}
	return true;
}

static const char *allow_list(struct pawl_arena *arena, unsigned bits)
{
	struct pawl_buf b;
	size_t i;

	pawl_buf_init(&b, arena);
	const char *name;
	unsigned bit;

	for (i = 0; (name = pawl_method_name_at(i, &bit)) != NULL; i++) {
		if (!(bits & bit))
			continue;
		if (b.len)
			pawl_buf_puts(&b, ", ");
		pawl_buf_puts(&b, name);
	}
	return b.failed ? NULL : b.data;
}

static const char *with_query(struct pawl_arena *arena, const char *path, size_t len,
    const char *query)
{
	if (query != NULL && *query != '\0')
		return pawl_arena_printf(arena, "%.*s?%s", (int)len, path, query);
	return pawl_arena_strndup(arena, path, len);
}

/* Length of "/v<digits>" at the start of path, 0 when it is not there. */
static size_t version_prefix(const char *path)
{
	size_t i = 2;

	if (path[0] != '/' || path[1] != 'v' || !isdigit((unsigned char)path[2]))
		return 0;
	while (isdigit((unsigned char)path[i]))
		i++;
	return (path[i] == '/' || path[i] == '\0') ? i : 0;
}

static enum pawl_err redirect(struct pawl_match *out, struct pawl_arena *arena,
    const char *location, int ttl, struct pawl_error *err)
{
	if (location == NULL)
		return pawl_error_nomem(err);
	pawl_error_clear(err);
	out->location = location;
	out->cache_ttl = ttl;
	return PAWL_OK;
}

static enum pawl_err route(const struct pawl_router *r, struct pawl_arena *arena,
    unsigned method, char *rest, struct pawl_match *out, struct pawl_error *err)
{
	char *segs[MAX_SEGMENTS];
	char *copy = pawl_arena_strdup(arena, rest);
	int n;
	size_t i;

	if (copy == NULL)
		return pawl_error_nomem(err);
	n = split(copy, segs, MAX_SEGMENTS);
	for (i = 0; n >= 0 && i < r->n; i++) {
		const struct compiled *c = &r->routes[i];

		if (!match_route(c, segs, (size_t)n, &out->md))
			continue;
		out->route = &c->route;
		if (c->route.methods & method)
			return PAWL_OK;
		out->allow = allow_list(arena, c->route.methods);
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	}
	out->md.n = 0;
	return pawl_error_set(err, PAWL_ERR_NOT_FOUND, "The resource you are looking for could not be found.");
}

enum pawl_err pawl_router_match(const struct pawl_router *r, struct pawl_arena *arena,
    const struct pawl_request_line *line, struct pawl_match *out, struct pawl_error *err)
{
	const struct pawl_config *cfg = r->cfg;
	const char *raw_path = line->raw_path, *query = line->query;
	unsigned method = line->method;
	size_t raw_len = strlen(raw_path), dec_len = 0, pre;
	char *path;
	enum pawl_err rc;

	memset(out, 0, sizeof(*out));
	out->cache_ttl = -1;
	path = pawl_str_urldecode(arena, raw_path, raw_len, false, &dec_len);
	if (raw_path[0] != '/' || pawl_str_has_ctl(raw_path) || path == NULL ||
	    dec_len != strlen(path) || !pawl_str_utf8_valid(path, dec_len))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "path", NULL, "Invalid URL path.");
	/* Queries are copied into redirects: raw control bytes never are. */
	if (query != NULL && pawl_str_has_ctl(query))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "querystring", NULL,
		    "Invalid query string.");
	pre = version_prefix(path);
	if (pre == 0) {
		/* Kinto's redirect route refuses CR/LF; so do we, decoded or not. */
		if (!cfg->version_prefix_redirect_enabled || strpbrk(path, "\r\n") != NULL)
			return pawl_error_set(err, PAWL_ERR_NOT_FOUND,
			    "The resource you are looking for could not be found.");
		return redirect(out, arena, pawl_arena_printf(arena, PAWL_API_PREFIX "%s%s%s",
		    raw_path, query && *query ? "?" : "", query && *query ? query : ""),
		    cfg->version_prefix_redirect_ttl_seconds, err);
	}
	if (pre != strlen(PAWL_API_PREFIX) || strncmp(path, PAWL_API_PREFIX, pre) != 0)
		return pawl_error_set(err, PAWL_ERR_VERSION,
		    "The requested API version is not available on this server.");
	if (path[pre] == '\0')
		return redirect(out, arena, with_query(arena, PAWL_API_PREFIX "/",
		    strlen(PAWL_API_PREFIX) + 1, query), cfg->trailing_slash_redirect_ttl_seconds, err);
	out->path = path + pre;
	rc = route(r, arena, method, path + pre, out, err);
	if (rc != PAWL_ERR_NOT_FOUND || !cfg->trailing_slash_redirect_enabled)
		return rc;
	if (raw_len > 1 && raw_path[raw_len - 1] == '/' && strcmp(path + pre, "/") != 0) {
		size_t keep = raw_len;

		while (keep > 1 && raw_path[keep - 1] == '/')
			keep--;
		return redirect(out, arena, with_query(arena, raw_path, keep, query),
		    cfg->trailing_slash_redirect_ttl_seconds, err);
	}
	return rc;
}

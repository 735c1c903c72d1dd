/*
 * Policies that apply to every endpoint alike, so handlers never repeat
 * them: end of service, readonly, endpoint switches, Backoff and CORS. They
 * read only the config and the request; they never touch storage.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "http/policy.h"
#include "http/router.h"
#include "core/str.h"

#define EXPOSED "Alert, Backoff, Cache-Control, Content-Length, Content-Type, ETag, Expires, " \
	"Last-Modified, Next-Page, Pragma, Retry-After, Total-Objects, Total-Records, X-Request-Id"

static const char *setting(const struct pawl_app *app, const char *key)
{
	const char *v = pawl_config_get(app->cfg, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

enum pawl_err pawl_policy_parse_eos(const struct pawl_config *cfg, time_t *when,
    struct pawl_error *err)
{
	const char *eos = pawl_config_get(cfg, "eos");
	struct tm tm;
	const char *end;

	*when = 0;
	if (eos == NULL || *eos == '\0')
		return PAWL_OK;
	memset(&tm, 0, sizeof(tm));
	end = strptime(eos, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return pawl_error_set(err, PAWL_ERR_CONFIG,
		    "setting 'eos' must be a date YYYY-MM-DD, got '%s'", eos);
	*when = timegm(&tm);
	return PAWL_OK;
}

/* The Alert header's JSON for the end of service, soft or hard. */
static const char *eos_alert(struct pawl_app *app, struct pawl_arena *arena, bool hard)
{
	struct pawl_buf b;
	const char *msg = setting(app, "eos_message"), *url = setting(app, "eos_url");

	pawl_buf_init(&b, arena);
	pawl_buf_printf(&b, "{\"code\":\"%s\"", hard ? "hard-eol" : "soft-eol");
	if (msg != NULL) {
		pawl_buf_puts(&b, ",\"message\":");
		pawl_buf_json_string(&b, msg, strlen(msg));
	}
	if (url != NULL) {
		pawl_buf_puts(&b, ",\"url\":");
		pawl_buf_json_string(&b, url, strlen(url));
	}
	pawl_buf_putc(&b, '}');
	return b.data;
}

/* Kinto's names for the switch: plural/object (and Cliquet's collection/record). */
static bool endpoint_enabled(struct pawl_app *app, const struct pawl_route *route, unsigned method)
{
	static const char *const names[] = { "get", "head", "post", "put", "patch", "delete" };
	static const unsigned bits[] = { PAWL_METHOD_GET, PAWL_METHOD_HEAD, PAWL_METHOD_POST,
		PAWL_METHOD_PUT, PAWL_METHOD_PATCH, PAWL_METHOD_DELETE };
	const char *kinds[2];
	char key[192];
	size_t i, k;

	if (route->resource == NULL)
		return true;
	kinds[0] = route->kind == PAWL_ROUTE_LIST ? "plural" : "object";
	kinds[1] = route->kind == PAWL_ROUTE_LIST ? "collection" : "record";
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (bits[i] != method)
			continue;
		for (k = 0; k < 2; k++) {
			const char *v;

			snprintf(key, sizeof(key), "%s_%s_%s_enabled", kinds[k], route->resource->name,
			    names[i]);
			v = setting(app, key);
			if (v != NULL && (pawl_str_ieq(v, "false") || pawl_str_ieq(v, "no") ||
			    pawl_str_ieq(v, "off") || strcmp(v, "0") == 0))
				return false;
		}
	}
	return true;
}

static bool origin_allowed(struct pawl_app *app, const char *origin)
{
	const char *list = pawl_config_get(app->cfg, "cors_origins");
	char pattern[256];

	while (list != NULL && *list != '\0') {
		size_t n = strcspn(list, " \t\n");

		if (n > 0 && n < sizeof(pattern)) {
			memcpy(pattern, list, n);
			pattern[n] = '\0';
			if (fnmatch(pattern, origin, 0) == 0)
				return true;
		}
		list += n;
		list += strspn(list, " \t\n");
	}
	return false;
}

/* Answers a preflight: the route's methods, the headers asked for, the max age. */
static void preflight(struct pawl_app *app, struct pawl_request *req, struct pawl_response *resp)
{
	const char *asked = pawl_request_header(req, "Access-Control-Request-Headers");
	const char *age = setting(app, "cors_max_age_seconds");

	resp->status = 200;
	pawl_response_header(resp, "Access-Control-Allow-Methods",
	    req->match.allow ? req->match.allow : "GET, HEAD");
	if (asked != NULL && !pawl_str_has_ctl(asked))
		pawl_response_header(resp, "Access-Control-Allow-Headers", asked);
	if (age != NULL && strcmp(age, "0") != 0)
		pawl_response_header(resp, "Access-Control-Max-Age", age);
}

enum pawl_err pawl_policy_check(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, enum pawl_err routed, bool *done, struct pawl_error *err)
{
	const unsigned reads = PAWL_METHOD_GET | PAWL_METHOD_HEAD | PAWL_METHOD_OPTIONS;

	*done = false;
	if (app->eos != 0 && time(NULL) >= app->eos)
		return pawl_error_set(err, PAWL_ERR_GONE,
		    "The service you are trying to connect no longer exists at this location.");
	if (req->method_bit == PAWL_METHOD_OPTIONS && pawl_request_header(req, "Origin") != NULL &&
	    pawl_request_header(req, "Access-Control-Request-Method") != NULL &&
	    (routed == PAWL_OK || (routed == PAWL_ERR_METHOD && req->match.route != NULL))) {
		preflight(app, req, resp);
		*done = true;
		return PAWL_OK;
	}
	if (routed != PAWL_OK)
		return routed;
	if (app->cfg->readonly && !(req->method_bit & reads))
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	if (req->match.route != NULL && !endpoint_enabled(app, req->match.route, req->method_bit))
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	return PAWL_OK;
}

void pawl_policy_headers(struct pawl_app *app, struct pawl_request *req, struct pawl_response *resp)
{
	const char *origin = pawl_request_header(req, "Origin");
	const char *backoff = setting(app, "backoff");
	const char *percent = setting(app, "backoff_percentage");

	if (app->eos != 0)
		pawl_response_header(resp, "Alert", eos_alert(app, req->arena, time(NULL) >= app->eos));
	if (backoff != NULL && (percent == NULL || rand() % 100 < atoi(percent)))
		pawl_response_header(resp, "Backoff", backoff);
	if (origin != NULL && !pawl_str_has_ctl(origin) && origin_allowed(app, origin)) {
		pawl_response_header(resp, "Access-Control-Allow-Origin", origin);
		pawl_response_header(resp, "Access-Control-Allow-Credentials", "true");
		pawl_response_header(resp, "Access-Control-Expose-Headers", EXPOSED);
		pawl_response_header(resp, "Vary", "Origin");
	}
}

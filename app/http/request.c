/*
 * Reading a request: CGI parameters by name, HTTP headers by their HTTP
 * name, content negotiation (406/415), and absolute URLs for hello and
 * Next-Page. Reads only the params array it was given; never does I/O.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>


#include "core/clock.h"
#include "core/crypto.h"
#include "http/request.h"
#include "core/str.h"

const char *pawl_request_param(const struct pawl_request *req, const char *name)
{
	size_t n = strlen(name);
	char *const *p;

	for (p = req->params; p != NULL && *p != NULL; p++)
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

const char *pawl_request_header(const struct pawl_request *req, const char *name)
{
	char cgi[128] = "HTTP_";
	size_t i, n = strlen(name);

	if (n + 6 > sizeof(cgi))
		return NULL;
	for (i = 0; i < n; i++)
		cgi[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	cgi[5 + n] = '\0';
	/* CGI carries these two without the HTTP_ prefix. */
	if (strcmp(cgi, "HTTP_CONTENT_TYPE") == 0 || strcmp(cgi, "HTTP_CONTENT_LENGTH") == 0)
		return pawl_request_param(req, cgi + 5);
	return pawl_request_param(req, cgi);
}

bool pawl_request_id_valid(const char *s)
{
	size_t n = s != NULL ? strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") : 0;

	return n > 0 && n <= PAWL_REQUEST_ID_MAX && s[n] == '\0';
}

/*
 * Only a parameter nginx sets is taken, never a request header (HTTP_*):
 * the id keys the log lines of a request, and a stranger choosing it could
 * give his requests the id of someone else's report, or flood one id's lines.
 */
const char *pawl_request_id(struct pawl_arena *arena, char *const *params)
{
	const struct pawl_request from = { .params = params };
	const char *given = pawl_request_param(&from, "PAWL_REQUEST_ID");
	unsigned char rnd[16];
	char id[2 * sizeof(rnd) + 1];
	size_t i;

	if (pawl_request_id_valid(given))
		return pawl_arena_strdup(arena, given);
	if (!pawl_random_bytes(rnd, sizeof(rnd))) {
		/* No entropy: still unique on this host, which is all a log key needs. */
		long long now = pawl_clock_wall_ns();

		memcpy(rnd, &now, sizeof(now));
		i = (size_t)getpid();
		memcpy(rnd + sizeof(now), &i, sizeof(i) < 8 ? sizeof(i) : 8);
	}
	pawl_hex_encode(id, rnd, sizeof(rnd));
	return pawl_arena_strdup(arena, id);
}

enum pawl_err pawl_request_init(struct pawl_request *req, struct pawl_arena *arena,
    char *const *params, struct pawl_error *err)
{
	const char *uri, *q;

	memset(req, 0, sizeof(*req));
	req->arena = arena;
	req->params = params;
	req->method = pawl_request_param(req, "REQUEST_METHOD");
	if (req->method == NULL)
		req->method = "GET";
	req->method_bit = pawl_method_parse(req->method);
	uri = pawl_request_param(req, "REQUEST_URI");
	if (uri == NULL || uri[0] != '/' || pawl_str_has_ctl(uri))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "path", NULL, "Invalid URL path.");
	q = strchr(uri, '?');
	req->raw_path = q ? pawl_arena_strndup(arena, uri, (size_t)(q - uri)) : uri;
	req->query = q ? q + 1 : NULL;
	if (req->raw_path == NULL)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

/* The length of the media type in a header value, without parameters and spaces. */
static size_t media_len(const char *s)
{
	size_t n = strcspn(s, ";,");

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return n;
}

/* True when the Accept range [s, s+n) with its parameters accepts JSON. */
static bool range_accepts_json(const char *s, size_t n, const char *params, size_t plen)
{
	const char *q;

	if (!((n == 16 && strncasecmp(s, "application/json", 16) == 0) ||
	    (n == 13 && strncasecmp(s, "application/*", 13) == 0) ||
	    (n == 3 && strncmp(s, "*/*", 3) == 0)))
		return false;
	/* "q=0" (and "q=0.0"...) means "not acceptable". */
	q = params;
	while ((q = memchr(q, 'q', plen - (size_t)(q - params))) != NULL) {
		const char *v = q + 1;

		while (v < params + plen && *v == ' ')
			v++;
		if (v < params + plen && *v == '=' && (q == params || q[-1] == ';' || q[-1] == ' ')) {
			v++;
			while (v < params + plen && *v == ' ')
				v++;
			return !(v < params + plen && *v == '0' &&
			    strspn(v + 1, ".0") >= (size_t)(params + plen - v - 1));
		}
		q++;
	}
	return true;
}

enum pawl_err pawl_request_check_accept(const struct pawl_request *req, struct pawl_error *err)
{
	const char *accept = pawl_request_header(req, "Accept"), *p;

	if (accept == NULL || *accept == '\0')
		return PAWL_OK;
	for (p = accept; *p != '\0';) {
		size_t item = strcspn(p, ","), n;
		const char *start = p;

		while (start < p + item && isspace((unsigned char)*start))
			start++;
		n = media_len(start);
		if (n > (size_t)(p + item - start))
			n = (size_t)(p + item - start);
		if (range_accepts_json(start, n, start + n, (size_t)(p + item - start - n)))
			return PAWL_OK;
		p += item;
		if (*p == ',')
			p++;
	}
	return pawl_error_invalid(err, PAWL_ERR_NOT_ACCEPTABLE, "header", "Accept",
	    "Accept header should be one of ['application/json']");
}

enum pawl_err pawl_request_check_content_type(const struct pawl_request *req,
    const char *const *allowed, struct pawl_error *err)
{
	const char *ct = pawl_request_param(req, "CONTENT_TYPE");
	const char *start = ct;
	struct pawl_buf list;
	size_t i, n;

	if (start != NULL) {
		while (isspace((unsigned char)*start))
			start++;
		n = media_len(start);
		for (i = 0; allowed[i] != NULL; i++)
			if (strlen(allowed[i]) == n && strncasecmp(start, allowed[i], n) == 0)
				return PAWL_OK;
	}
	pawl_buf_init(&list, req->arena);
	for (i = 0; allowed[i] != NULL; i++)
		pawl_buf_printf(&list, "%s'%s'", i ? ", " : "", allowed[i]);
	return pawl_error_invalid(err, PAWL_ERR_MEDIA_TYPE, "header", "Content-Type",
	    "Content-Type header should be one of [%s]", list.data ? list.data : "");
}

/* A Host value is used only when it is a plain host[:port]. */
static bool host_ok(const char *h)
{
	return h != NULL && *h != '\0' && strlen(h) < 256 &&
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(h);
}

/*
 * X-Forwarded-Host/-Proto are believed only from a peer the admin declared
 * (trusted_proxies): from anyone else they are client text, and caches key
 * responses on Host but not on these, so one client could steer the URLs
 * that others are served. A proxy may append to what its client sent
 * (another header line, or ", value"), so the value used is the last one:
 * the one the nearest, trusted, proxy wrote.
 */
static const char *forwarded(const struct pawl_request *req, const struct pawl_config *cfg,
    const char *cgi_name)
{
	size_t n = strlen(cgi_name), len;
	const char *v = NULL, *last;
	char *const *p;

	if (cfg->n_trusted_proxies == 0 || !pawl_cidr_match(cfg->trusted_proxies,
	    cfg->n_trusted_proxies, pawl_request_param(req, "REMOTE_ADDR")))
		return NULL;
	for (p = req->params; p != NULL && *p != NULL; p++)
		if (strncmp(*p, cgi_name, n) == 0 && (*p)[n] == '=')
			v = *p + n + 1;
	if (v == NULL)
		return NULL;
	last = strrchr(v, ',') ? strrchr(v, ',') + 1 : v;
	while (*last == ' ' || *last == '\t')
		last++;
	len = strlen(last);
	while (len > 0 && (last[len - 1] == ' ' || last[len - 1] == '\t'))
		len--;
	return pawl_arena_strndup(req->arena, last, len);
}

static const char *url_scheme(const struct pawl_request *req, const struct pawl_config *cfg)
{
	const char *scheme = forwarded(req, cfg, "HTTP_X_FORWARDED_PROTO");
	const char *https = pawl_request_param(req, "HTTPS");

	if (cfg->http_scheme != NULL)
		return cfg->http_scheme;
	if (scheme != NULL && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0))
		return scheme;
	/* What nginx says of its own connection ($https, $scheme). */
	if (https != NULL && (strcmp(https, "on") == 0 || strcmp(https, "1") == 0))
		return "https";
	scheme = pawl_request_param(req, "REQUEST_SCHEME");
	return scheme != NULL && strcmp(scheme, "https") == 0 ? "https" : "http";
}

/*
 * Host: http_host when set; a trusted proxy's X-Forwarded-Host; else the Host
 * header, as Kinto (Pyramid's host_url) does: nginx routed the request on it
 * (server_name), it is part of every cache key, and it only shapes the answer
 * to the client that sent it. Deployments that want no client say at all set
 * http_host. Without a usable Host: nginx's server_name and port.
 */
const char *pawl_request_url(const struct pawl_request *req, const struct pawl_config *cfg,
    const char *path)
{
	const char *scheme = url_scheme(req, cfg), *host = cfg->http_host;
	const char *fwd_host = forwarded(req, cfg, "HTTP_X_FORWARDED_HOST");

	if (host == NULL && host_ok(fwd_host))
		host = fwd_host;
	if (host == NULL && host_ok(pawl_request_header(req, "Host")))
		host = pawl_request_header(req, "Host");
	if (host == NULL) {
		const char *name = pawl_request_param(req, "SERVER_NAME");
		const char *port = pawl_request_param(req, "SERVER_PORT");

		host = host_ok(name) ? name : "localhost";
		if (port != NULL && strspn(port, "0123456789") == strlen(port) && *port &&
		    strcmp(port, strcmp(scheme, "https") == 0 ? "443" : "80") != 0)
			host = pawl_arena_printf(req->arena, "%s:%s", host, port);
	}
	return pawl_arena_printf(req->arena, "%s://%s" PAWL_API_PREFIX "%s", scheme, host, path);
}

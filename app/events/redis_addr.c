/*
 * Redis addresses as settings give them, parsed without I/O: a listener's
 * `url`, and a Sentinel listener's `sentinels` list. Pure, so the unit
 * tests and `pawl check` use them as the listeners do.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "events/redis.h"
#include "core/str.h"

/* The highest database number a URL may name: a bound for the parse only;
 * Redis itself refuses a number beyond its `databases` setting. */
#define DB_MAX 1000
#define SENTINEL_PORT 26379

static enum pawl_err bad_url(const char *url, const char *why, struct pawl_error *err)
{
	return pawl_error_set(err, PAWL_ERR_CONFIG, "invalid Redis URL '%s': %s", url, why);
}

static enum pawl_err parse_userinfo(const char *url, const char *s, size_t n,
    struct pawl_redis_url *out, struct pawl_error *err)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL)
		return bad_url(url, "credentials must be [user]:password", err);
	if ((size_t)(colon - s) >= sizeof(out->username) || n - (size_t)(colon - s) - 1 >= sizeof(out->password))
		return bad_url(url, "credentials too long", err);
	memcpy(out->username, s, (size_t)(colon - s));
	out->username[colon - s] = '\0';
	memcpy(out->password, colon + 1, n - (size_t)(colon - s) - 1);
	out->password[n - (size_t)(colon - s) - 1] = '\0';
	return PAWL_OK;
}

static enum pawl_err parse_hostport(const char *url, const char *s, size_t n,
    struct pawl_redis_url *out, struct pawl_error *err)
{
	const char *colon = memchr(s, ':', n);
	size_t hlen = colon ? (size_t)(colon - s) : n;
	long long port = 6379;
	char num[8];

	if (hlen == 0 || hlen >= sizeof(out->host))
		return bad_url(url, "missing or too long host", err);
	memcpy(out->host, s, hlen);
	out->host[hlen] = '\0';
	if (colon != NULL) {
		size_t plen = n - hlen - 1;

		if (plen == 0 || plen >= sizeof(num))
			return bad_url(url, "bad port", err);
		memcpy(num, colon + 1, plen);
		num[plen] = '\0';
		if (!pawl_str_to_ll(num, 1, 65535, &port))
			return bad_url(url, "bad port", err);
	}
	out->port = (int)port;
	return PAWL_OK;
}

enum pawl_err pawl_redis_parse_url(const char *url, struct pawl_redis_url *out,
    struct pawl_error *err)
{
	const char *p, *slash, *at;
	long long db = 0;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (url == NULL || pawl_str_has_ctl(url))
		return bad_url(url ? "?" : "(none)", "control characters", err);
	if (strncmp(url, "unix://", 7) == 0) {
		const char *q = strchr(url + 7, '?');
		size_t n = q ? (size_t)(q - url - 7) : strlen(url + 7);

		if (n == 0 || url[7] != '/' || n >= sizeof(out->path))
			return bad_url(url, "expected unix:///absolute/path", err);
		memcpy(out->path, url + 7, n);
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 || !pawl_str_to_ll(q + 4, 0, DB_MAX, &db)))
			return bad_url(url, "only ?db=N is understood", err);
		out->db = (int)db;
		return PAWL_OK;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return bad_url(url, "expected redis:// or unix://", err);
	p = url + 8;
	slash = strchr(p, '/');
	at = strrchr(p, '@');
	if (at != NULL && (slash == NULL || at < slash)) {
		if (parse_userinfo(url, p, (size_t)(at - p), out, err) != PAWL_OK)
			return err->code;
		p = at + 1;
	}
	if (parse_hostport(url, p, slash ? (size_t)(slash - p) : strlen(p), out, err) != PAWL_OK)
		return err->code;
	if (slash != NULL && slash[1] != '\0' && !pawl_str_to_ll(slash + 1, 0, DB_MAX, &db))
		return bad_url(url, "the path must be a database number", err);
	out->db = (int)db;
	return PAWL_OK;
}


static enum pawl_err bad_sentinel(const char *entry, size_t n, const char *why,
    struct pawl_error *err)
{
	return pawl_error_set(err, PAWL_ERR_CONFIG, "invalid Sentinel address '%.*s': %s",
	    (int)(n > 80 ? 80 : n), entry, why);
}

/* One "host[:port]" or "[v6]:port" of n bytes at s into *out. */
static enum pawl_err parse_sentinel(const char *s, size_t n, struct pawl_redis_sentinel_addr *out,
    struct pawl_error *err)
{
	const char *host = s, *rest, *end = s + n;
	size_t hlen;
	long long port = SENTINEL_PORT;
	char num[8];

	if (*s == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return bad_sentinel(s, n, "unclosed '[' (expected [address]:port)", err);
		host = s + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
		if (rest < end && *rest != ':')
			return bad_sentinel(s, n, "expected ':' after ']'", err);
	} else {
		rest = memchr(s, ':', n);
		if (rest == NULL)
			rest = end;
		else if (memchr(rest + 1, ':', (size_t)(end - rest - 1)) != NULL)
			return bad_sentinel(s, n, "an IPv6 address goes in brackets: [address]:port", err);
		hlen = (size_t)(rest - s);
	}
	if (hlen == 0 || hlen >= sizeof(out->host))
		return bad_sentinel(s, n, "missing or too long host", err);
	if (rest < end) {
		size_t plen = (size_t)(end - rest - 1);

		if (plen == 0 || plen >= sizeof(num))
			return bad_sentinel(s, n, "bad port (1 to 65535)", err);
		memcpy(num, rest + 1, plen);
		num[plen] = '\0';
		if (!pawl_str_to_ll(num, 1, 65535, &port))
			return bad_sentinel(s, n, "bad port (1 to 65535)", err);
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (int)port;
	return PAWL_OK;
}

/* Control characters other than a tab (a separator here). */
static bool has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

enum pawl_err pawl_redis_parse_sentinels(const char *list, struct pawl_redis_sentinels *out,
    struct pawl_error *err)
{
	const char *sep = " \t,";
	const char *p = list;

	memset(out, 0, sizeof(*out));
	if (list == NULL || has_ctl(list))
		return pawl_error_set(err, PAWL_ERR_CONFIG, "invalid Sentinel list: %s",
		    list == NULL ? "none given" : "control characters");
	for (p += strspn(p, sep); *p != '\0'; p += strspn(p, sep)) {
		size_t n = strcspn(p, sep);

		if (out->n == PAWL_REDIS_SENTINELS_MAX)
			return pawl_error_set(err, PAWL_ERR_CONFIG,
			    "invalid Sentinel list: more than %d addresses", PAWL_REDIS_SENTINELS_MAX);
		if (parse_sentinel(p, n, &out->at[out->n], err) != PAWL_OK)
			return err->code;
		out->n++;
		p += n;
	}
	if (out->n == 0)
		return pawl_error_set(err, PAWL_ERR_CONFIG,
		    "invalid Sentinel list: empty (expected host:port host:port ...)");
	return PAWL_OK;
}

/*
 * Redis connections for listeners: URL parsing (pure), connect with a
 * timeout, AUTH/SELECT, and commands under a timeout so that a hung Redis
 * costs a bounded wait. The only file that includes hiredis.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "core/clock.h"
#include "core/log.h"
#include "events/redis.h"
#include "core/str.h"

#define BACKOFF_MS 1000
/* The timeout when the caller gives none: a second, as for a local Redis. */
#define DEFAULT_TIMEOUT_MS 1000
/* The highest database number a URL may name: a bound for the parse only;
 * Redis itself refuses a number beyond its `databases` setting. */
#define DB_MAX 1000

struct pawl_redis {
	struct pawl_redis_url url;
	redisContext *ctx;
	int timeout_ms;
	long long retry_at_ms;  /* monotonic: no new attempt before this */
	bool closed;            /* the last command failed because the peer had closed the link */
	char sha[2][48];        /* each script's digest on this connection (enum script); empty: not loaded */
	char why[128];          /* the cause of the last failed push, for its error message */
};

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

struct pawl_redis *pawl_redis_new(const struct pawl_redis_url *url, int timeout_ms)
{
	struct pawl_redis *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->url = *url;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	return r;
}

static void disconnect(struct pawl_redis *r)
{
	if (r->ctx != NULL) {
		redisFree(r->ctx);
		r->ctx = NULL;
	}
	r->sha[0][0] = r->sha[1][0] = '\0';
}

void pawl_redis_free(struct pawl_redis *r)
{
	if (r == NULL)
		return;
	disconnect(r);
	free(r);
}

static struct timeval tv_ms(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/*
 * A link Redis closed (it restarted, or dropped an idle client): nothing sent
 * on it ran, so one retry on a fresh connection is safe. Not a timeout.
 */
static bool peer_closed(const redisContext *c)
{
	return c != NULL && (c->err == REDIS_ERR_EOF ||
	    (c->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE)));
}

/* Runs a command; true when the reply is not an error. Drops the link on I/O errors. */
static bool command_ok(struct pawl_redis *r, const char *what, int argc, const char **argv)
{
	redisReply *reply = redisCommandArgv(r->ctx, argc, argv, NULL);
	bool ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

	r->closed = reply == NULL && peer_closed(r->ctx);
	if (!ok)
		pawl_log_warn("Redis %s failed: %s", what,
		    reply ? reply->str : (r->ctx->errstr[0] ? r->ctx->errstr : "no reply"));
	if (reply != NULL)
		freeReplyObject(reply);
	else
		disconnect(r);
	return ok;
}

static enum pawl_err connect_redis(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	struct timeval tv = tv_ms(timeout_ms);
	char db[16];

	if (r->ctx != NULL && r->ctx->err == 0)
		return PAWL_OK;
	disconnect(r);
	r->ctx = r->url.path[0] ? redisConnectUnixWithTimeout(r->url.path, tv)
	    : redisConnectWithTimeout(r->url.host, r->url.port, tv);
	if (r->ctx == NULL || r->ctx->err) {
		snprintf(r->why, sizeof(r->why), "%s", r->ctx ? r->ctx->errstr : "out of memory");
		pawl_log_warn("cannot connect to Redis: %s", r->why);
		disconnect(r);
		return pawl_error_set(err, PAWL_ERR_BACKEND, "Redis unavailable: %s", r->why);
	}
	/* AUTH and SELECT under the caller's bound too (the heartbeat's is shorter). */
	redisSetTimeout(r->ctx, tv);
	if (r->url.password[0]) {
		const char *auth2[] = { "AUTH", r->url.password };
		const char *auth3[] = { "AUTH", r->url.username, r->url.password };

		if (!(r->url.username[0] ? command_ok(r, "AUTH", 3, auth3) : command_ok(r, "AUTH", 2, auth2)))
			goto fail;
	}
	if (r->url.db != 0) {
		const char *sel[] = { "SELECT", db };

		snprintf(db, sizeof(db), "%d", r->url.db);
		if (!command_ok(r, "SELECT", 2, sel))
			goto fail;
	}
	redisSetTimeout(r->ctx, tv_ms(r->timeout_ms));
	return PAWL_OK;
fail:
	disconnect(r);
	snprintf(r->why, sizeof(r->why), "Redis refused the connection setup (AUTH or SELECT)");
	return pawl_error_set(err, PAWL_ERR_BACKEND, "%s", r->why);
}

static enum pawl_err ping_once(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	const char *ping[] = { "PING" };
	enum pawl_err rc = connect_redis(r, timeout_ms, err);

	if (rc != PAWL_OK)
		return rc;
	redisSetTimeout(r->ctx, tv_ms(timeout_ms));
	if (!command_ok(r, "PING", 1, ping))
		return pawl_error_set(err, PAWL_ERR_BACKEND, "Redis did not answer PING");
	if (r->ctx != NULL)
		redisSetTimeout(r->ctx, tv_ms(r->timeout_ms));
	return PAWL_OK;
}

enum pawl_err pawl_redis_ping(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	bool kept = r->ctx != NULL;
	enum pawl_err rc = ping_once(r, timeout_ms, err);

	/* A kept link Redis closed (a restart) says nothing of Redis now: ask again. */
	if (rc != PAWL_OK && kept && r->closed)
		rc = ping_once(r, timeout_ms, err);
	return rc;
}

/*
 * Both scripts' test of one (list, order) triple against its list's mark,
 * inside their loop over ARGV: sets ok, and moves the mark in marks/dirty.
 */
#define MARK_CHECK \
	"  local list, seq = ARGV[i], ARGV[i + 1]\n" \
	"  local ok = seq == ''\n" \
	"  if not ok then\n" \
	"    local m = marks[list]\n" \
	"    if m == nil then m = redis.call('HGET', KEYS[2], list) or ''; marks[list] = m end\n" \
	"    ok = m == '' or #seq > #m or (#seq == #m and seq > m)\n" \
	"    if ok then marks[list] = seq; dirty[list] = true end\n" \
	"  end\n"

/*
 * The append script. KEYS[1] is the Redis list, KEYS[2] its high-water
 * marks (a hash: pawl list key -> order of the last event appended).
 * ARGV holds triples (pawl list key, order, payload), oldest first; an
 * empty order means "no order to keep" (read events). An event is appended
 * only when its order is above its list's mark, so pushing a batch again
 * after a lost reply or a stall appends nothing twice. Orders are compared
 * as strings (length, then bytes): the caller makes that the right order.
 * Runs atomically (EVAL).
 */
static const char append_script[] =
	"local marks, dirty, out = {}, {}, {}\n"
	"for i = 1, #ARGV, 3 do\n"
	MARK_CHECK
	"  if ok then out[#out + 1] = ARGV[i + 2] end\n"
	"end\n"
	/* One LPUSH per 1000 values (unpack's stack limit): LPUSH k a b = LPUSH k a; LPUSH k b. */
	"for i = 1, #out, 1000 do\n"
	"  redis.call('LPUSH', KEYS[1], unpack(out, i, math.min(i + 999, #out)))\n"
	"end\n"
	/* Marks last: a script that fails midway leaves duplicates to come, never a loss. */
	"for list in pairs(dirty) do redis.call('HSET', KEYS[2], list, marks[list]) end\n"
	"return #out\n";

/*
 * The stream script: the same marks and triples as the append script, after
 * ARGV[1], the approximate length bound ('0': none). Each event kept is one
 * XADD (ID chosen by Redis: see pawl_redis_stream_append) with the fields
 * "event" (the payload) and "list" (its pawl list). Atomic like the other.
 */
static const char stream_script[] =
	"local marks, dirty, n = {}, {}, 0\n"
	"local maxlen = tonumber(ARGV[1])\n"
	"for i = 2, #ARGV, 3 do\n"
	MARK_CHECK
	"  if ok then\n"
	"    if maxlen > 0 then\n"
	"      redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'event', ARGV[i + 2], 'list', list)\n"
	"    else\n"
	"      redis.call('XADD', KEYS[1], '*', 'event', ARGV[i + 2], 'list', list)\n"
	"    end\n"
	"    n = n + 1\n"
	"  end\n"
	"end\n"
	"for list in pairs(dirty) do redis.call('HSET', KEYS[2], list, marks[list]) end\n"
	"return n\n";

enum script { SCRIPT_LIST, SCRIPT_STREAM };

static const char *const scripts[] = { append_script, stream_script };

/* SCRIPT LOAD once per connection: later batches send only the digest. */
static bool load_script(struct pawl_redis *r, enum script which)
{
	const char *argv[] = { "SCRIPT", "LOAD", scripts[which] };
	redisReply *reply;
	bool ok;

	if (r->sha[which][0] != '\0')
		return true;
	reply = redisCommandArgv(r->ctx, 3, argv, NULL);
	ok = reply != NULL && reply->type == REDIS_REPLY_STRING && reply->len < sizeof(r->sha[which]);
	r->closed = reply == NULL && peer_closed(r->ctx);
	if (ok)
		memcpy(r->sha[which], reply->str, reply->len + 1);
	if (reply != NULL)
		freeReplyObject(reply);
	return ok;
}

/*
 * One EVALSHA of the append script over argv (argv[0], argv[1] are filled
 * here); EVAL when Redis lost its script cache (a restart, SCRIPT FLUSH).
 */
static bool append_once(struct pawl_redis *r, enum script which, int argc, const char **argv,
    long long *appended)
{
	redisReply *reply = NULL;
	bool ok;

	r->closed = false;
	if (!load_script(r, which)) {
		/* hiredis's errstr is 128 bytes: its start says what happened. */
		snprintf(r->why, sizeof(r->why), "SCRIPT LOAD failed: %.100s",
		    r->ctx->errstr[0] ? r->ctx->errstr : "refused");
		return false;
	}
	argv[0] = "EVALSHA";
	argv[1] = r->sha[which];
	reply = redisCommandArgv(r->ctx, argc, argv, NULL);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		r->sha[which][0] = '\0';
		argv[0] = "EVAL";
		argv[1] = scripts[which];
		reply = redisCommandArgv(r->ctx, argc, argv, NULL);
	}
	ok = reply != NULL && reply->type == REDIS_REPLY_INTEGER;
	/* Closed before an answer: safe to send again, the script adds nothing twice. */
	r->closed = reply == NULL && peer_closed(r->ctx);
	if (ok)
		*appended = reply->integer;
	else if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		snprintf(r->why, sizeof(r->why), "the append script failed: %.100s", reply->str);
	else
		snprintf(r->why, sizeof(r->why), "%s", r->ctx->errstr[0] ? r->ctx->errstr :
		    reply == NULL ? "no reply" : "an unexpected reply");
	if (reply != NULL)
		freeReplyObject(reply);
	return ok;
}

/*
 * The script's arguments: the two keys, then extra (the stream script's
 * length bound; NULL for the list script), then (list key, order, payload)
 * per event. *argc: how many.
 */
static const char **append_args(const char *key, const char *extra,
    const struct pawl_redis_events *ev, char **hwm, int *argc)
{
	size_t base = extra != NULL ? 6 : 5, i;
	const char **argv = calloc(base + 3 * ev->n, sizeof(*argv));

	*hwm = malloc(strlen(key) + 5);
	if (argv == NULL || *hwm == NULL) {
		free(argv);
		return NULL;
	}
	sprintf(*hwm, "%s:hwm", key);
	argv[2] = "2";
	argv[3] = key;
	argv[4] = *hwm;
	if (extra != NULL)
		argv[5] = extra;
	for (i = 0; i < ev->n; i++) {
		argv[base + 3 * i] = ev->lists[i];
		argv[base + 1 + 3 * i] = ev->orders[i] != NULL ? ev->orders[i] : "";
		argv[base + 2 + 3 * i] = ev->payloads[i];
	}
	*argc = (int)(base + 3 * ev->n);
	return argv;
}

static enum pawl_err append_events(struct pawl_redis *r, enum script which, const char *key,
    const char *extra, const struct pawl_redis_events *events, size_t *appended,
    struct pawl_error *err)
{
	size_t n = events->n;
	char *hwm = NULL;
	const char **argv = NULL;
	long long count = 0;
	enum pawl_err rc = PAWL_OK;
	int argc = 0;
	bool kept;

	*appended = 0;
	if (n == 0)
		return PAWL_OK;
	if (r->ctx == NULL && pawl_clock_mono_ms() < r->retry_at_ms) {
		rc = pawl_error_set(err, PAWL_ERR_BACKEND, "Redis unavailable (backing off after: %s)",
		    r->why);
		goto out;
	}
	if ((argv = append_args(key, extra, events, &hwm, &argc)) == NULL) {
		rc = pawl_error_nomem(err);
		goto out;
	}
	kept = r->ctx != NULL;
	if ((rc = connect_redis(r, r->timeout_ms, err)) != PAWL_OK)
		goto backoff;
	if (append_once(r, which, argc, argv, &count))
		goto done;
	/* A kept link Redis closed (a restart): once more on a fresh one (it adds nothing twice). */
	if (kept && r->closed) {
		disconnect(r);
		if ((rc = connect_redis(r, r->timeout_ms, err)) != PAWL_OK)
			goto backoff;
		if (append_once(r, which, argc, argv, &count))
			goto done;
	}
	/* The caller logs the failed delivery, with this cause. */
	disconnect(r);
	rc = pawl_error_set(err, PAWL_ERR_BACKEND, "Redis push failed: %s", r->why);
backoff:
	r->retry_at_ms = pawl_clock_mono_ms() + BACKOFF_MS;
	goto out;
done:
	*appended = (size_t)count;
	rc = PAWL_OK;
	if (count < (long long)n)
		pawl_log_info("Redis %s: %zu of %zu events were already there (a retried push)",
		    key, n - (size_t)count, n);
out:
	free(argv);
	free(hwm);
	return rc;
}

enum pawl_err pawl_redis_append(struct pawl_redis *r, const char *key,
    const struct pawl_redis_events *events, size_t *appended, struct pawl_error *err)
{
	return append_events(r, SCRIPT_LIST, key, NULL, events, appended, err);
}

enum pawl_err pawl_redis_stream_append(struct pawl_redis *r, const char *key, long maxlen,
    const struct pawl_redis_events *events, size_t *appended, struct pawl_error *err)
{
	char bound[24];

	snprintf(bound, sizeof(bound), "%ld", maxlen > 0 ? maxlen : 0L);
	return append_events(r, SCRIPT_STREAM, key, bound, events, appended, err);
}

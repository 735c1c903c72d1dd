/*
 * Redis connections for listeners: connect with a timeout (to a fixed
 * address, or to the master Sentinel names), AUTH/SELECT, and commands under
 * a timeout so that a hung Redis costs a bounded wait. The only file that
 * includes hiredis.h; the addresses are parsed in redis_addr.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "events/redis.h"
#include "core/str.h"

#define BACKOFF_MS 1000
/* The timeout when the caller gives none: a second, as for a local Redis. */
#define DEFAULT_TIMEOUT_MS 1000

struct pawl_redis {
	struct pawl_redis_url url;
	redisContext *ctx;
	int timeout_ms;
	long long retry_at_ms;  /* monotonic: no new attempt before this */
	bool closed;            /* the last command failed because the peer had closed the link */
	char sha[2][48];        /* each script's digest on this connection (enum script); empty: not loaded */
	char why[128];          /* the cause of the last failed push, for its error message */
	/* A Sentinel handle (sentinels != NULL): url holds the master's address once asked. */
	struct pawl_redis_sentinels *sentinels;
	char master[PAWL_REDIS_MASTER_MAX]; /* the master's name at the Sentinels */
	size_t first;           /* the Sentinel asked first: the last one that answered */
	char last[300];         /* "host:port" of the last master connected to ("": none yet) */
	bool switched;          /* the master changed since a push last counted it */
	bool readonly;          /* the last command was refused with -READONLY */
	int wait_replicas;      /* > 0: WAIT for this many replicas after each append */
	int slot;               /* metrics slot of the master switches; -1: none */
};

struct pawl_redis *pawl_redis_new(const struct pawl_redis_url *url, int timeout_ms)
{
	struct pawl_redis *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->url = *url;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	r->slot = -1;
	return r;
}

struct pawl_redis *pawl_redis_new_sentinel(const struct pawl_redis_sentinels *sentinels,
    const char *master, const struct pawl_redis_url *auth, int timeout_ms)
{
	struct pawl_redis *r = pawl_redis_new(auth, timeout_ms);

	if (r == NULL)
		return NULL;
	if ((r->sentinels = malloc(sizeof(*r->sentinels))) == NULL) {
		free(r);
		return NULL;
	}
	*r->sentinels = *sentinels;
	snprintf(r->master, sizeof(r->master), "%s", master);
	r->url.host[0] = r->url.path[0] = '\0';
	return r;
}

void pawl_redis_set_wait_replicas(struct pawl_redis *r, int replicas)
{
	r->wait_replicas = replicas > 0 ? replicas : 0;
}

void pawl_redis_set_slot(struct pawl_redis *r, int slot)
{
	r->slot = slot;
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
	free(r->sentinels);
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

/* Connects to r->url's node (the fixed one, or the master Sentinel named): AUTH, SELECT. */
static enum pawl_err connect_node(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	struct timeval tv = tv_ms(timeout_ms);
	char db[16];

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

/*
 * AUTH to a Sentinel that has a requirepass of its own: true to go on (no
 * password, or accepted); else false with the refusal in *reply, which then
 * names the error (never the password) like any other answer.
 */
static bool sentinel_auth(const struct pawl_redis *r, redisContext *c, redisReply **reply)
{
	const char *argv[] = { "AUTH", r->sentinels->password };
	redisReply *got;

	if (r->sentinels->password[0] == '\0')
		return true;
	got = redisCommandArgv(c, 2, argv, NULL);
	if (got != NULL && got->type != REDIS_REPLY_ERROR) {
		freeReplyObject(got);
		return true;
	}
	*reply = got;
	return false;
}

/*
 * Asks one Sentinel where the master is: url.host and url.port on success.
 * Anything but a two-string answer with a sane host and port is refused (a
 * Sentinel that does not know the name answers nil; a stranger, garbage).
 */
static bool ask_sentinel(struct pawl_redis *r, const struct pawl_redis_sentinel_addr *at,
    int timeout_ms)
{
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name", r->master };
	redisContext *c = redisConnectWithTimeout(at->host, at->port, tv_ms(timeout_ms));
	redisReply *reply = NULL;
	long long port = 0;
	bool ok = false;

	if (c != NULL && c->err == 0 && redisSetTimeout(c, tv_ms(timeout_ms)) == REDIS_OK &&
	    sentinel_auth(r, c, &reply))
		reply = redisCommandArgv(c, 3, argv, NULL);
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    reply->element[1]->type == REDIS_REPLY_STRING &&
	    reply->element[0]->len > 0 && reply->element[0]->len < sizeof(r->url.host) &&
	    !pawl_str_has_ctl(reply->element[0]->str) &&
	    pawl_str_to_ll(reply->element[1]->str, 1, 65535, &port)) {
		memcpy(r->url.host, reply->element[0]->str, reply->element[0]->len + 1);
		r->url.port = (int)port;
		ok = true;
	} else {
		snprintf(r->why, sizeof(r->why), "Sentinel %.60s:%d: %.50s", at->host, at->port,
		    c == NULL ? "out of memory" : c->err ? c->errstr : reply == NULL ? "no reply"
		    : reply->type == REDIS_REPLY_NIL ? "does not know the master's name"
		    : reply->type == REDIS_REPLY_ERROR ? reply->str : "an unexpected answer");
		pawl_log_warn("Redis master '%s': %s", r->master, r->why);
	}
	if (reply != NULL)
		freeReplyObject(reply);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/*
 * ROLE on the connection: true for a master. A node Sentinel names may have
 * been demoted since (its answer is older than the failover): writing there
 * would be refused, or worse, lost when it resyncs.
 */
static bool is_master(struct pawl_redis *r)
{
	const char *argv[] = { "ROLE" };
	redisReply *reply = redisCommandArgv(r->ctx, 1, argv, NULL);
	bool ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_STRING && strcmp(reply->element[0]->str, "master") == 0;

	r->closed = reply == NULL && peer_closed(r->ctx);
	if (!ok)
		snprintf(r->why, sizeof(r->why), "%.60s:%d is not a master (ROLE: %.30s)",
		    r->url.host, r->url.port, reply == NULL ? r->ctx->errstr :
		    reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
		    reply->element[0]->type == REDIS_REPLY_STRING ? reply->element[0]->str
		    : reply->type == REDIS_REPLY_ERROR ? reply->str : "an unexpected answer");
	if (reply != NULL)
		freeReplyObject(reply);
	return ok;
}

/* A new master address: remembered, logged, and owed to the switch counter. */
static void note_master(struct pawl_redis *r)
{
	char now[sizeof(r->last)];

	snprintf(now, sizeof(now), "%s:%d", r->url.host, r->url.port);
	if (strcmp(now, r->last) == 0)
		return;
	if (r->last[0] != '\0') {
		r->switched = true;
		pawl_log_warn("Redis master '%s' moved from %s to %s", r->master, r->last, now);
	}
	memcpy(r->last, now, sizeof(now));
}

/*
 * Every new connection of a Sentinel handle asks the Sentinels again, each
 * in turn from the last one that answered, and keeps the first named node
 * that is reachable and a master. One timeout bounds the whole search.
 */
static enum pawl_err connect_master(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	long long deadline = pawl_clock_mono_ms() + timeout_ms, left;
	size_t n = r->sentinels->n, i, k;

	snprintf(r->why, sizeof(r->why), "no Sentinel could be asked in time");
	for (i = 0; i < n && (left = deadline - pawl_clock_mono_ms()) > 0; i++) {
		k = (r->first + i) % n;
		if (!ask_sentinel(r, &r->sentinels->at[k], (int)left))
			continue;
		if ((left = deadline - pawl_clock_mono_ms()) <= 0)
			break;
		if (connect_node(r, (int)left, err) == PAWL_OK && is_master(r)) {
			r->first = k;
			note_master(r);
			return PAWL_OK;
		}
		pawl_log_warn("Redis master '%s': %s", r->master, r->why);
		disconnect(r);
	}
	/* Next time, start with another Sentinel: one that hangs costs one timeout, not each. */
	r->first = (r->first + 1) % n;
	return pawl_error_set(err, PAWL_ERR_BACKEND, "Redis master '%s' not found: %s", r->master,
	    r->why);
}

static enum pawl_err connect_redis(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	if (r->ctx != NULL && r->ctx->err == 0)
		return PAWL_OK;
	disconnect(r);
	return r->sentinels != NULL ? connect_master(r, timeout_ms, err)
	    : connect_node(r, timeout_ms, err);
}

static enum pawl_err ping_once(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	const char *ping[] = { "PING" };
	enum pawl_err rc = connect_redis(r, timeout_ms, err);

	if (rc != PAWL_OK)
		return rc;
	redisSetTimeout(r->ctx, tv_ms(timeout_ms));
	if (r->sentinels != NULL && !is_master(r)) {
		/* Demoted under a kept link (a failover): the next attempt asks the Sentinels. */
		disconnect(r);
		return pawl_error_set(err, PAWL_ERR_BACKEND, "Redis master '%s': %s", r->master, r->why);
	}
	if (r->sentinels == NULL && !command_ok(r, "PING", 1, ping))
		return pawl_error_set(err, PAWL_ERR_BACKEND, "Redis did not answer PING");
	if (r->ctx != NULL)
		redisSetTimeout(r->ctx, tv_ms(r->timeout_ms));
	return PAWL_OK;
}

enum pawl_err pawl_redis_ping(struct pawl_redis *r, int timeout_ms, struct pawl_error *err)
{
	bool kept = r->ctx != NULL;
	enum pawl_err rc = ping_once(r, timeout_ms, err);

	/* A kept link Redis closed (a restart), or a demoted master, says nothing of now: ask again. */
	if (rc != PAWL_OK && kept && (r->closed || r->sentinels != NULL))
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

	r->closed = r->readonly = false;
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
	/* A master demoted under a kept link refuses before the script runs: safe to retry. */
	r->readonly = reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "READONLY", 8) == 0;
	if (!ok && reply != NULL && reply->type == REDIS_REPLY_ERROR)
		snprintf(r->why, sizeof(r->why), "the append script failed: %.100s", reply->str);
	else if (!ok)
		snprintf(r->why, sizeof(r->why), "%s", r->ctx->errstr[0] ? r->ctx->errstr :
		    reply == NULL ? "no reply" : "an unexpected reply");
	if (reply != NULL)
		freeReplyObject(reply);
	return ok;
}

/*
 * After an append: with wait_replicas, true once that many replicas have
 * it (WAIT). Redis replicates asynchronously, so an append only the master
 * holds dies with it in a failover; reporting it undone keeps the outbox
 * rows, and pushing them again adds nothing where the marks arrived.
 */
static bool replicated(struct pawl_redis *r)
{
	char n[16], ms[16];
	const char *argv[] = { "WAIT", n, ms };
	redisReply *reply;
	bool ok;

	if (r->wait_replicas <= 0)
		return true;
	snprintf(n, sizeof(n), "%d", r->wait_replicas);
	/* Redis's own bound, under the socket's: an answer, not a timeout. */
	snprintf(ms, sizeof(ms), "%d", r->timeout_ms * 3 / 4 > 0 ? r->timeout_ms * 3 / 4 : 1);
	reply = redisCommandArgv(r->ctx, 3, argv, NULL);
	ok = reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer >= r->wait_replicas;
	if (!ok)
		snprintf(r->why, sizeof(r->why), "WAIT: %.100s", reply == NULL ? r->ctx->errstr
		    : reply->type == REDIS_REPLY_INTEGER ? "too few replicas acknowledged in time"
		    : reply->type == REDIS_REPLY_ERROR ? reply->str : "an unexpected answer");
	if (!ok && reply != NULL && reply->type == REDIS_REPLY_INTEGER)
		pawl_log_warn("Redis WAIT: %lld of %d replicas acknowledged", reply->integer,
		    r->wait_replicas);
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
	/*
	 * A kept link Redis closed (a restart), or a master demoted under it (a
	 * failover; a Sentinel handle then asks again): once more on a fresh
	 * one (it adds nothing twice).
	 */
	if (kept && (r->closed || (r->readonly && r->sentinels != NULL))) {
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
	if (!replicated(r)) {
		disconnect(r);
		rc = pawl_error_set(err, PAWL_ERR_BACKEND, "Redis push not replicated: %s", r->why);
		goto backoff;
	}
	if (r->switched) {
		pawl_metrics_redis_master_switch(r->slot);
		r->switched = false;
	}
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

/*
 * The Redis stream listener (`type = stream`, docs/consumers.md): events land
 * in the stream in commit order per list, one stream per bucket when asked,
 * trimmed by `maxlen`; and every append is exactly once -- an outbox row
 * pushed again, a reply lost after the XADDs ran (a proxy that cuts the link
 * between the request and the answer), two relays racing over one batch.
 * The last three drive pawl's Redis handle (events/redis.h) directly, as the
 * relay does: the stack gives no way to put a proxy in front of its Redis.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "core/err.h"
#include "core/log.h"
#include "events/redis.h"
#include "events_util.h"

#define STREAM "pawl.test.stream"    /* harness: the `stream` listener */
#define BSTREAM "pawl.test.bstream"  /* harness: `bstream`, per bucket, maxlen 5 */
#define RACE_EVENTS 200

static int redis_port(void)
{
	return atoi(getenv("PAWL_REDIS_PORT"));
}

static redisContext *connect_redis(void)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port(), tv);

	if (c != NULL && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* One stream entry: its ID, its pawl list, its parsed payload. */
struct entry {
	char id[48];
	char list[256];
	json_object *ev;
};

struct entries {
	struct entry *v;
	size_t n;
};

static void entries_free(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		json_object_put(e->v[i].ev);
	free(e->v);
	memset(e, 0, sizeof *e);
}

/* XRANGE key - +, keeping the entries keep accepts; entries without an event are kept (ev NULL). */
static bool stream_fetch(const char *key, event_keep_fn *keep, const void *arg, struct entries *out)
{
	redisContext *c = connect_redis();
	redisReply *r = c ? redisCommand(c, "XRANGE %s - +", key) : NULL;
	bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY;

	memset(out, 0, sizeof *out);
	if (ok && r->elements > 0)
		out->v = calloc(r->elements, sizeof *out->v);
	for (size_t i = 0; ok && out->v != NULL && i < r->elements; i++) {
		redisReply *e = r->element[i], *f = e->element[1];
		struct entry *x = &out->v[out->n];

		memset(x, 0, sizeof *x);
		snprintf(x->id, sizeof x->id, "%s", e->element[0]->str);
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			if (strcmp(f->element[j]->str, "event") == 0)
				x->ev = json_tokener_parse(f->element[j + 1]->str);
			else if (strcmp(f->element[j]->str, "list") == 0)
				snprintf(x->list, sizeof x->list, "%s", f->element[j + 1]->str);
		}
		if (x->ev != NULL && keep != NULL && !keep(x->ev, arg)) {
			json_object_put(x->ev);
			continue;
		}
		out->n++;
	}
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

static size_t stream_wait(const char *key, event_keep_fn *keep, const void *arg, size_t want,
			  struct entries *out)
{
	for (long waited = 0;; waited += 50) {
		stream_fetch(key, keep, arg, out);
		if (out->n >= want || waited >= DELIVERY_MS)
			return out->n;
		entries_free(out);
		sleep_ms(50);
	}
}

static long long stream_len(const char *key)
{
	redisContext *c = connect_redis();
	redisReply *r = c ? redisCommand(c, "XLEN %s", key) : NULL;
	long long n = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return n;
}

/* Compares stream IDs "ms-seq" numerically: a < b. */
static bool id_before(const char *a, const char *b)
{
	unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);

	return am != bm ? am < bm : strtoull(strchr(a, '-') + 1, NULL, 10) <
	       strtoull(strchr(b, '-') + 1, NULL, 10);
}

/* A bucket, a collection and ten records: twelve events in commit order, each once. */
static void test_stream_commit_order(void)
{
	char b[64], p[256], key[256];
	long long ts[12];
	struct entries e = { 0 };
	int k = 0;

	unique_id(b, sizeof b, "so");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	ts[k++] = write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	ts[k++] = write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int i = 0; i < 10; i++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r%d", b, i);
		ts[k++] = write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	CHECK(stream_wait(STREAM, in_bucket, b, 12, &e) == 12, "%zu events of %s in %s, expected 12",
	      e.n, b, STREAM);
	snprintf(key, sizeof key, "/buckets/%s/collections/c record", b);
	for (size_t i = 0; i < e.n && e.n == 12; i++) {
		CHECK(jint(e.v[i].ev, "timestamp") == ts[i], "entry %zu is %s, expected the write %zu",
		      i, json_object_to_json_string(e.v[i].ev), i);
		CHECK(i == 0 || id_before(e.v[i - 1].id, e.v[i].id), "stream IDs out of order: %s, %s",
		      e.v[i - 1].id, e.v[i].id);
		if (i >= 2)
			CHECK(strcmp(e.v[i].list, key) == 0, "entry %zu's list is '%s', expected '%s'", i,
			      e.v[i].list, key);
	}
	entries_free(&e);
}

/* Outbox rows of listener `stream` (-1 on error). */
static long outbox_rows(const char *list_key)
{
	char sql[512], out[64];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE listener = 'stream' AND "
		 "list_key = '%s'", list_key);
	return harness_psql(sql, out, sizeof out) ? atol(out) : -1;
}

static size_t copies_of(const struct entries *e, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += jstr(e->v[i].ev, "event_id") && strcmp(jstr(e->v[i].ev, "event_id"), id) == 0;
	return n;
}

/*
 * Delivered rows put back in the outbox (a lost DELETE, a retry) add nothing
 * to the stream; a newer row does, once; so does a row of a database restored
 * from a backup (a lower outbox id, a later timestamp).
 */
static void test_stream_repush_once(void)
{
	char b[64], p[256], key[256], sql[4096], mark[64];
	struct entries e = { 0 };
	long long ts;
	long rows = -1;

	unique_id(b, sizeof b, "sr");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r", b);
	ts = write_ok("PUT", p, "{\"data\":{}}", 201);
	CHECK(stream_wait(STREAM, in_bucket, b, 3, &e) == 3, "%zu events of %s, expected 3", e.n, b);
	entries_free(&e);
	snprintf(key, sizeof key, "/buckets/%s/collections/c record", b);
	/* The mark's outbox id: the row just delivered is the highest of its list so far. */
	snprintf(sql, sizeof sql, "SELECT last_value FROM outbox_id_seq");
	CU_ASSERT_FATAL(harness_psql(sql, mark, sizeof mark));
#define ROW(id, ts, name) "(" id ", 'stream', '%s', '{\\\"timestamp\\\":" ts \
	",\\\"action\\\":\\\"update\\\",\\\"bucket_id\\\":\\\"%s\\\",\\\"event_id\\\":\\\"" name "\\\"}')"
	snprintf(sql, sizeof sql,
		 "INSERT INTO outbox (id, listener, list_key, payload) VALUES "
		 ROW("%lld", "%lld", "older") "," ROW("%lld", "%lld", "restored") ","
		 ROW("nextval('outbox_id_seq')", "%lld", "newer") "; NOTIFY pawl_outbox",
		 atoll(mark) - 1000000, key, ts - 1, b, atoll(mark) - 1000001, key, ts + 1, b,
		 key, ts + 2, b);
#undef ROW
	CU_ASSERT_FATAL(harness_psql(sql, NULL, 0));
	for (long waited = 0; waited < DELIVERY_MS && (rows = outbox_rows(key)) != 0; waited += 50)
		sleep_ms(50);
	CHECK(rows == 0, "%ld re-pushed outbox rows never taken", rows);
	stream_fetch(STREAM, in_bucket, b, &e);
	CHECK(copies_of(&e, "older") == 0, "an event below the mark was added to the stream");
	CHECK(copies_of(&e, "restored") == 1, "a restored database's event came %zu times, expected "
	      "once", copies_of(&e, "restored"));
	CHECK(copies_of(&e, "newer") == 1, "the newer event came %zu times, expected once",
	      copies_of(&e, "newer"));
	CHECK(e.n == 5, "%zu entries of %s, expected 5", e.n, b);
	entries_free(&e);
}

/* Per bucket: a bucket's records in "<listname>.<bucket>", trimmed near maxlen (5). */
static void test_stream_per_bucket_trimmed(void)
{
	char b[64], p[256], key[256];
	struct entries e = { 0 };
	long long n, last = 0;

	unique_id(b, sizeof b, "sb");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int i = 0; i < 150; i++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r%d", b, i);
		last = write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	snprintf(key, sizeof key, BSTREAM ".%s", b);
	/* The bucket's own create event belongs to the buckets list: the base stream. */
	CHECK(stream_wait(BSTREAM, in_bucket, b, 1, &e) == 1, "%zu create events of %s in %s",
	      e.n, b, BSTREAM);
	entries_free(&e);
	for (long waited = 0; waited < DELIVERY_MS; waited += 50) {
		stream_fetch(key, NULL, NULL, &e);
		if (e.n > 0 && jint(e.v[e.n - 1].ev, "timestamp") == last)
			break;
		entries_free(&e);
		sleep_ms(50);
	}
	CHECK(e.n > 0 && jint(e.v[e.n - 1].ev, "timestamp") == last,
	      "the last record's event is not the last entry of %s", key);
	n = stream_len(key);
	/* MAXLEN ~ drops whole nodes (100 entries by default): fewer than written, at least 5. */
	CHECK(n >= 5 && n < 152, "%s holds %lld entries after 152 events, maxlen 5", key, n);
	for (size_t i = 0; i < e.n; i++)
		CHECK(jstr(e.v[i].ev, "bucket_id") && strcmp(jstr(e.v[i].ev, "bucket_id"), b) == 0,
		      "an event of another bucket in %s", key);
	entries_free(&e);
}

/*
 * A proxy to Redis that, on its first connection, forwards the first
 * EVALSHA/EVAL and then closes both sides without relaying the answer: the
 * script ran, its reply is lost. Later connections pass through.
 */
struct proxy {
	int listen_fd, port;
	volatile int stop;
	volatile int cuts; /* how many replies it dropped */
};

static void relay_fds(struct proxy *px, int client, bool cut)
{
	int up = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)redis_port()),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[65536];

	if (up < 0 || connect(up, (struct sockaddr *)&a, sizeof a) != 0)
		goto out;
	while (!px->stop) {
		struct pollfd fds[2] = { { client, POLLIN, 0 }, { up, POLLIN, 0 } };
		ssize_t n;

		if (poll(fds, 2, 100) <= 0)
			continue;
		if (fds[0].revents) {
			if ((n = read(client, buf, sizeof buf - 1)) <= 0 || write(up, buf, (size_t)n) != n)
				break;
			buf[n] = '\0';
			if (cut && (strstr(buf, "EVALSHA\r\n") || strstr(buf, "$4\r\nEVAL\r\n"))) {
				sleep_ms(300); /* Redis runs the script; its answer never leaves */
				px->cuts++;
				break;
			}
		}
		if (fds[1].revents && ((n = read(up, buf, sizeof buf)) <= 0 ||
		    write(client, buf, (size_t)n) != n))
			break;
	}
out:
	if (up >= 0)
		close(up);
	close(client);
}

static void *proxy_run(void *arg)
{
	struct proxy *px = arg;
	bool cut = true;

	while (!px->stop) {
		struct pollfd pf = { px->listen_fd, POLLIN, 0 };
		int client;

		if (poll(&pf, 1, 100) <= 0 || (client = accept(px->listen_fd, NULL, NULL)) < 0)
			continue;
		relay_fds(px, client, cut);
		cut = false;
	}
	return NULL;
}

static bool proxy_start(struct proxy *px, pthread_t *th)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;

	memset(px, 0, sizeof *px);
	px->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (px->listen_fd < 0 || bind(px->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(px->listen_fd, 4) != 0 || getsockname(px->listen_fd, (struct sockaddr *)&a, &len))
		return false;
	px->port = ntohs(a.sin_port);
	return pthread_create(th, NULL, proxy_run, px) == 0;
}

static void proxy_stop(struct proxy *px, pthread_t th)
{
	px->stop = 1;
	pthread_join(th, NULL);
	close(px->listen_fd);
}

/* n events of one pawl list, orders from first (zero-padded as the relay does). */
struct batch {
	const char *lists[RACE_EVENTS], *orders[RACE_EVENTS], *payloads[RACE_EVENTS];
	char order[RACE_EVENTS][48], payload[RACE_EVENTS][64];
	struct pawl_redis_events ev;
};

static void batch_fill(struct batch *b, size_t n, long first)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(b->order[i], sizeof b->order[i], "%020ld%020ld", 1700000000000L + first + (long)i,
			 first + (long)i);
		snprintf(b->payload[i], sizeof b->payload[i], "{\"event_id\":\"e%ld\"}", first + (long)i);
		b->lists[i] = "/buckets/x/collections/c record";
		b->orders[i] = b->order[i];
		b->payloads[i] = b->payload[i];
	}
	b->ev = (struct pawl_redis_events){ n, b->lists, b->orders, b->payloads };
}

static struct pawl_redis *handle_on(int port)
{
	struct pawl_redis_url url;
	struct pawl_error err;
	char u[64];

	snprintf(u, sizeof u, "redis://127.0.0.1:%d/0", port);
	return pawl_redis_parse_url(u, &url, &err) == PAWL_OK ? pawl_redis_new(&url, 2000) : NULL;
}

/*
 * The reply of the script that ran is lost. On a kept link the handle sends
 * it again at once; on a fresh one the push fails and the relay's next pass
 * sends it again. Either way the stream holds each event once.
 */
static void test_stream_lost_reply(void)
{
	static struct batch b;
	char key[96];
	struct pawl_error err;
	struct proxy px;
	pthread_t th;
	size_t appended = 99;

	for (int kept = 1; kept >= 0; kept--) {
		struct pawl_redis *r;
		enum pawl_err rc;

		unique_id(key, sizeof key, "pawl.test.lost");
		CU_ASSERT_FATAL(proxy_start(&px, &th));
		r = handle_on(px.port);
		CU_ASSERT_FATAL(r != NULL);
		if (kept)
			CU_ASSERT(pawl_redis_ping(r, 2000, &err) == PAWL_OK);
		batch_fill(&b, 3, 1);
		rc = pawl_redis_stream_append(r, key, 0, &b.ev, &appended, &err);
		CHECK(px.cuts == 1, "the proxy cut %d replies, expected 1", px.cuts);
		if (kept)
			CHECK(rc == PAWL_OK && appended == 0, "the retry on a fresh link: rc %d, %zu "
			      "appended; expected 0 (the first try's XADDs ran)", rc, appended);
		else
			CHECK(rc != PAWL_OK, "a push whose reply was lost on a fresh link succeeded");
		if (!kept) {
			sleep_ms(1100); /* the handle's back-off */
			rc = pawl_redis_stream_append(r, key, 0, &b.ev, &appended, &err);
			CHECK(rc == PAWL_OK && appended == 0, "the retried push: rc %d (%s), %zu appended",
			      rc, rc ? err.message : "", appended);
		}
		CHECK(stream_len(key) == 3, "%s holds %lld entries, expected 3", key, stream_len(key));
		batch_fill(&b, 4, 1);
		rc = pawl_redis_stream_append(r, key, 0, &b.ev, &appended, &err);
		CHECK(rc == PAWL_OK && appended == 1 && stream_len(key) == 4,
		      "the next push appended %zu, the stream holds %lld; expected 1 and 4", appended,
		      stream_len(key));
		pawl_redis_free(r);
		proxy_stop(&px, th);
	}
}

struct racer {
	const char *key;
	struct batch *b;
	size_t appended;
	bool ok;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	struct pawl_redis *r = handle_on(redis_port());
	struct pawl_error err;

	x->ok = r != NULL;
	/* Growing prefixes of one batch, as two relays taking overlapping rows would. */
	for (size_t n = 10; x->ok && n <= RACE_EVENTS; n += 10) {
		struct pawl_redis_events ev = x->b->ev;
		size_t got = 0;

		ev.n = n;
		x->ok = pawl_redis_stream_append(r, x->key, 0, &ev, &got, &err) == PAWL_OK;
		x->appended += got;
	}
	pawl_redis_free(r);
	return NULL;
}

/* Two relays push the same rows at once: each event lands once, in order. */
static void test_stream_racing_relays(void)
{
	static struct batch b;
	char key[96];
	struct racer x[2];
	pthread_t th[2];
	struct entries e = { 0 };

	unique_id(key, sizeof key, "pawl.test.race");
	batch_fill(&b, RACE_EVENTS, 1);
	pawl_log_setup(PAWL_LOG_WARN, 1); /* not one "already there" line per overlap */
	for (int i = 0; i < 2; i++) {
		x[i] = (struct racer){ key, &b, 0, false };
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, race, &x[i]) == 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pawl_log_setup(PAWL_LOG_INFO, 1);
	CHECK(x[0].ok && x[1].ok, "a racing push failed");
	CHECK(x[0].appended + x[1].appended == RACE_EVENTS, "the racers appended %zu + %zu, "
	      "expected %d in all", x[0].appended, x[1].appended, RACE_EVENTS);
	stream_fetch(key, NULL, NULL, &e);
	CHECK(e.n == RACE_EVENTS, "%zu entries, expected %d", e.n, RACE_EVENTS);
	for (size_t i = 0; i < e.n; i++) {
		char want[32];

		snprintf(want, sizeof want, "e%zu", i + 1);
		if (!jstr(e.v[i].ev, "event_id") || strcmp(jstr(e.v[i].ev, "event_id"), want) != 0) {
			CHECK(false, "entry %zu is %s, expected %s", i,
			      e.v[i].ev ? json_object_to_json_string(e.v[i].ev) : "(none)", want);
			break;
		}
	}
	entries_free(&e);
}

void test_streams_register(void)
{
	CU_pSuite s = CU_add_suite("streams", NULL, NULL);

	CU_add_test(s, "events land in the stream in commit order", test_stream_commit_order);
	CU_add_test(s, "rows pushed again add nothing to the stream", test_stream_repush_once);
	CU_add_test(s, "one stream per bucket, trimmed by maxlen", test_stream_per_bucket_trimmed);
	CU_add_test(s, "a reply lost after XADD: nothing added twice", test_stream_lost_reply);
	CU_add_test(s, "two relays racing add each event once", test_stream_racing_relays);
}

/*
 * One listener's outage holds back its own events only. Two Redis servers of
 * this suite's own (A with a password, B without), the harness's listeners
 * "withdata" (a list, records; A) and "stream" (a stream, everything; B)
 * turned over to them. With one of them stopped, the other must get every
 * event promptly, exactly once, in commit order, and its outbox rows must
 * go; the stopped one's rows wait (its heartbeat entry false, the pending
 * gauge counting them) and all arrive once it is back. Its
 * event.delivery_failed lines are throttled (1 s, 2 s, 4 s ... apart), and
 * one event.delivery_recovered line closes the outage. Neither the
 * listener's URL nor its password is ever logged.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "events_util.h"
#include "harness.h"
#include "resource_util.h"

#define LIST_LISTENER "withdata"        /* harness: create update delete of records, a list */
#define LISTNAME "pawl.test.withdata"
#define STREAM_LISTENER "stream"        /* harness: everything, a stream */
#define STREAMNAME "pawl.test.stream"
#define SECRET "isolation-pw-7f3a"      /* A's password: must never reach the log */
#define WRITES 20
#define PROMPT_MS 5000                  /* "promptly": the healthy listener's deadline */
#define OUTAGE_MS 6000                  /* the throttle test's stop */

static int port_a, port_b;
static pid_t pid_a, pid_b;
static char dir[4096], bucket[64];

/* redis-server on port (with a password when pass), in the foreground, in dir. */
static pid_t spawn_redis(int port, const char *pass)
{
	char p[16], log[4200];
	pid_t pid;

	snprintf(p, sizeof p, "%d", port);
	snprintf(log, sizeof log, "%s/redis-%d.log", dir, port);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		FILE *f = freopen(log, "a", stdout);

		if (f != NULL)
			dup2(fileno(f), 2);
		setpgid(0, 0);
		if (pass != NULL)
			execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", pass,
			       (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGCONT);
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static redisContext *connect_to(int port)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r = NULL;

	if (c == NULL || c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK ||
	    (port == port_a && ((r = redisCommand(c, "AUTH %s", SECRET)) == NULL ||
				r->type == REDIS_REPLY_ERROR))) {
		if (r != NULL)
			freeReplyObject(r);
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	if (r != NULL)
		freeReplyObject(r);
	return c;
}

static bool answers(int port)
{
	redisContext *c = connect_to(port);
	redisReply *r = c ? redisCommand(c, "PING") : NULL;
	bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

static bool wait_answers(int port)
{
	for (long waited = 0; waited < 10000; waited += 100) {
		if (answers(port))
			return true;
		sleep_ms(100);
	}
	return false;
}

/* An event of our bucket's collection coll, a record's. */
static bool ours(json_object *ev, const char *coll)
{
	return ev != NULL && jstr(ev, "bucket_id") && strcmp(jstr(ev, "bucket_id"), bucket) == 0 &&
	       jstr(ev, "collection_id") && strcmp(jstr(ev, "collection_id"), coll) == 0 &&
	       jstr(ev, "resource_name") && strcmp(jstr(ev, "resource_name"), "record") == 0;
}

static void keep(struct events *out, json_object *ev, const char *coll, size_t cap)
{
	if (ours(ev, coll) && out->n < cap)
		out->v[out->n++] = ev;
	else if (ev != NULL)
		json_object_put(ev);
}

/* The records' events of coll at A (list, LPUSH: LRANGE reversed) or B (stream), oldest first. */
static bool fetch(bool at_a, const char *coll, struct events *out)
{
	redisContext *c = connect_to(at_a ? port_a : port_b);
	redisReply *r = c == NULL ? NULL : at_a ? redisCommand(c, "LRANGE %s 0 -1", LISTNAME)
					       : redisCommand(c, "XRANGE %s - +", STREAMNAME);
	bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY;
	size_t n = ok ? r->elements : 0;

	memset(out, 0, sizeof *out);
	out->v = calloc(n + 1, sizeof *out->v);
	for (size_t i = 0; ok && out->v != NULL && i < n; i++) {
		redisReply *it = r->element[at_a ? n - 1 - i : i], *f;
		json_object *ev = NULL;

		if (at_a) {
			ev = json_tokener_parse(it->str);
		} else if (it->elements == 2 && (f = it->element[1]) != NULL) {
			for (size_t k = 0; k + 1 < f->elements; k += 2)
				if (strcmp(f->element[k]->str, "event") == 0)
					ev = json_tokener_parse(f->element[k + 1]->str);
		}
		keep(out, ev, coll, n);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Polls until want events of coll are at A or B, or timeout_ms passed; the count. */
static size_t fetch_until(bool at_a, const char *coll, size_t want, long timeout_ms,
			  struct events *out)
{
	long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		fetch(at_a, coll, out);
		if (out->n >= want || harness_now_ms() >= deadline)
			return out->n;
		events_free(out);
		sleep_ms(50);
	}
}

static const char *impacted_id(json_object *ev)
{
	json_object *imp = ev ? json_object_object_get(ev, "impacted") : NULL;

	if (imp == NULL || !json_object_is_type(imp, json_type_array) ||
	    json_object_array_length(imp) == 0)
		return NULL;
	return jstr(json_object_array_get_idx(imp, 0), "id");
}

/* Exactly the creates of ids, once each, in the order they were answered (commit order). */
static void check_creates(const struct events *e, char ids[][64], size_t n, const char *what)
{
	size_t same = 0;

	for (size_t i = 0; i < e->n && i < n; i++)
		same += impacted_id(e->v[i]) != NULL && strcmp(impacted_id(e->v[i]), ids[i]) == 0;
	CHECK(e->n == n && same == n, "%s: %zu events, %zu of them in place; expected the %zu "
	      "creates, each once, in commit order", what, e->n, same, n);
}

static long outbox_rows(const char *listener)
{
	char sql[256], out[64] = "";

	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE listener = '%s'", listener);
	return harness_psql(sql, out, sizeof out) ? atol(out) : -1;
}

/* Polls until the listener has want rows in the outbox; the last count. */
static long outbox_rows_until(const char *listener, long want, long timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms, n;

	while ((n = outbox_rows(listener)) != want && harness_now_ms() < deadline)
		sleep_ms(100);
	return n;
}

/* The heartbeat's entry for name: 1, 0, or -1 when absent or not a boolean. */
static int heartbeat_of(const char *name)
{
	struct http_resp r;
	json_object *v;
	int out;

	http_request("GET", "/v1/__heartbeat__", NULL, NULL, &r);
	v = resp_json(&r, name);
	out = v != NULL && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
	http_resp_free(&r);
	return out;
}

/* A series' value in an open scrape of __metrics__; -1 when absent. */
static double metric(const char *series)
{
	struct http_resp r;
	double v = -1;
	const char *p;

	http_request("GET", "/v1/__metrics__", NULL, NULL, &r);
	for (p = r.body; r.status == 200 && p != NULL && (p = strstr(p, series)) != NULL; p++)
		if ((p == r.body || p[-1] == '\n') && p[strlen(series)] == ' ') {
			v = atof(p + strlen(series) + 1);
			break;
		}
	http_resp_free(&r);
	return v;
}

/* A fresh collection of the suite's bucket (made by the first call); its id into coll. */
static void make_collection(char *coll, size_t size)
{
	if (bucket[0] == '\0') {
		unique_id(bucket, sizeof bucket, "iso");
		write_ok("PUT", ru_fmt("/v1/buckets/%s", bucket), "{\"data\":{}}", 201);
	}
	unique_id(coll, size, "c");
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/%s", bucket, coll), "{\"data\":{}}", 201);
	/* Its event delivered before a Redis stops: the stopped listener's rows are the test's. */
	CHECK(outbox_rows_until(LIST_LISTENER, 0, DELIVERY_MS) == 0 &&
	      outbox_rows_until(STREAM_LISTENER, 0, DELIVERY_MS) == 0,
	      "rows of %s or %s wait before the test", LIST_LISTENER, STREAM_LISTENER);
}

/* One record created in coll; its id into id. */
static bool create_record(const char *coll, char *id, size_t size)
{
	const char *h[] = { events_auth(), NULL };
	struct http_resp r;
	json_object *v;
	bool ok;

	http_request("POST", ru_fmt("/v1/buckets/%s/collections/%s/records", bucket, coll), h,
		     "{\"data\":{\"n\":1}}", &r);
	v = resp_json(&r, "data.id");
	ok = r.status == 201 && v != NULL;
	if (ok)
		snprintf(id, size, "%s", json_object_get_string(v));
	CHECK(ok, "POST record: %ld %s", r.status, body_snip(&r));
	http_resp_free(&r);
	return ok;
}

/* --- set-up -------------------------------------------------------------------- */

/* text with its line "event_listeners.<name>.url = ..." pointing at url instead. */
static char *repoint(const char *text, const char *name, const char *url)
{
	char key[128], *out;
	const char *at, *end;

	snprintf(key, sizeof key, "\nevent_listeners.%s.url = ", name);
	if (text == NULL || (at = strstr(text, key)) == NULL || (end = strchr(at + 1, '\n')) == NULL)
		return NULL;
	if ((out = malloc(strlen(text) + strlen(key) + strlen(url) + 1)) == NULL)
		return NULL;
	sprintf(out, "%.*s%s%s%s", (int)(at - text), text, key, url, end);
	return out;
}

static bool configure(void)
{
	static const char open_scrape[] = "metrics_read_principals = system.Everyone\n";
	char path[4200], url_a[128], url_b[128], *original = NULL, *a = NULL, *b = NULL, *c = NULL;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
	if ((f = fopen(path, "r")) != NULL && (original = calloc(1, 1 << 16)) != NULL)
		(void)!fread(original, 1, (1 << 16) - 1, f);
	if (f != NULL)
		fclose(f);
	snprintf(url_a, sizeof url_a, "redis://:" SECRET "@127.0.0.1:%d/0", port_a);
	snprintf(url_b, sizeof url_b, "redis://127.0.0.1:%d/0", port_b);
	if ((a = repoint(original, LIST_LISTENER, url_a)) != NULL &&
	    (b = repoint(a, STREAM_LISTENER, url_b)) != NULL &&
	    (c = malloc(strlen(b) + sizeof open_scrape)) != NULL) {
		sprintf(c, "%s%s", b, open_scrape);
		ok = ru_reload_edit(original, c);
	}
	free(original);
	free(a);
	free(b);
	free(c);
	return ok;
}

static int suite_clean(void)
{
	bool ok = ru_reload_restore();

	reap(&pid_a);
	reap(&pid_b);
	return ok ? 0 : -1;
}

static int suite_init(void)
{
	int ports[2];

	snprintf(dir, sizeof dir, "%s/isolation", harness_state_dir());
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || harness_free_ports(ports, 2) != 0)
		return -1;
	port_a = ports[0];
	port_b = ports[1];
	pid_a = spawn_redis(port_a, SECRET);
	pid_b = spawn_redis(port_b, NULL);
	if (pid_a <= 0 || pid_b <= 0 || !wait_answers(port_a) || !wait_answers(port_b) ||
	    !configure()) {
		fprintf(stderr, "isolation: the two Redis servers or the reload failed (%s)\n", dir);
		suite_clean();
		return -1;
	}
	return 0;
}

/* --- the tests ------------------------------------------------------------------- */

/*
 * The listener that is down (at_a: A, the list, else B, the stream) keeps its
 * rows; the other gets all WRITES events within PROMPT_MS and its rows go.
 */
static void check_one_down(bool a_down, const char *coll, char ids[][64], long written_ms)
{
	const char *down = a_down ? LIST_LISTENER : STREAM_LISTENER;
	const char *up = a_down ? STREAM_LISTENER : LIST_LISTENER;
	struct events e;
	long got_ms, rows_up, rows_down;
	double pending = -1;

	fetch_until(!a_down, coll, WRITES, PROMPT_MS, &e);
	got_ms = harness_now_ms() - written_ms;
	check_creates(&e, ids, WRITES, a_down ? "the stream (B up, A down)" : "the list (A up, B down)");
	events_free(&e);
	rows_up = outbox_rows_until(up, 0, PROMPT_MS);
	rows_down = outbox_rows(down);
	CHECK(rows_up == 0, "%ld outbox rows of the healthy listener %s left (its deliveries were "
	      "rolled back with the other's)", rows_up, up);
	CHECK(rows_down == WRITES, "%ld outbox rows of the stopped listener %s, expected %d",
	      rows_down, down, WRITES);
	CHECK(heartbeat_of(down) == 0 && heartbeat_of(up) == 1,
	      "heartbeat: %s %d (want false), %s %d (want true)", down, heartbeat_of(down), up,
	      heartbeat_of(up));
	/* The other listeners (the harness's Redis) drain: only the stopped one's rows stay. */
	for (long waited = 0; waited < PROMPT_MS && pending != WRITES; waited += 100) {
		pending = metric("pawl_outbox_pending_events");
		if (pending != WRITES)
			sleep_ms(100);
	}
	CHECK(pending == WRITES, "pawl_outbox_pending_events is %g, expected the %d rows of %s",
	      pending, WRITES, down);
	printf("\n    isolation: %s down: %s had all %d events %ld ms after the last write\n",
	       down, up, WRITES, got_ms);
}

/* Back up: the listener that was down gets every event once, in order; its rows go. */
static void check_back(bool at_a, const char *coll, char ids[][64])
{
	struct events e;
	const char *who = at_a ? LIST_LISTENER : STREAM_LISTENER;

	fetch_until(at_a, coll, WRITES, DELIVERY_MS, &e);
	sleep_ms(1000); /* a duplicate would land now */
	events_free(&e);
	fetch(at_a, coll, &e);
	check_creates(&e, ids, WRITES, at_a ? "the list once A is back" : "the stream once B is back");
	events_free(&e);
	CHECK(outbox_rows_until(who, 0, DELIVERY_MS) == 0, "rows of %s left once it is back", who);
}

/* A stalled (SIGSTOP: every try costs a timeout); A's listener comes first in the set. */
static void test_list_down(void)
{
	char coll[64], ids[WRITES][64];
	long written;

	make_collection(coll, sizeof coll);
	CU_ASSERT_FATAL(stop_process(pid_a));
	for (size_t i = 0; i < WRITES; i++)
		create_record(coll, ids[i], sizeof ids[i]);
	written = harness_now_ms();
	check_one_down(true, coll, ids, written);
	kill(pid_a, SIGCONT);
	check_back(true, coll, ids);
}

/* B killed (connections refused), then started again on its port, empty. */
static void test_stream_down(void)
{
	char coll[64], ids[WRITES][64];
	long written;

	make_collection(coll, sizeof coll);
	kill(pid_b, SIGKILL);
	waitpid(pid_b, NULL, 0);
	pid_b = 0;
	for (size_t i = 0; i < WRITES; i++)
		create_record(coll, ids[i], sizeof ids[i]);
	written = harness_now_ms();
	check_one_down(false, coll, ids, written);
	pid_b = spawn_redis(port_b, NULL);
	CU_ASSERT_FATAL(pid_b > 0 && wait_answers(port_b));
	check_back(false, coll, ids);
}

/*
 * A stalled for OUTAGE_MS under a write every 100 ms: the failure lines of
 * its listener follow the schedule (the first at once, then 1 s, 2 s, 4 s
 * ... apart), so an outage of d seconds logs at most 1 + floor(log2(d + 1));
 * then one recovered line.
 */
static void test_log_throttled(void)
{
	const char *failed = "delivery to listener '" LIST_LISTENER "' failed";
	const char *recovered = "delivery to listener '" LIST_LISTENER "' recovered";
	char coll[64], id[64], port[32];
	size_t fails0 = log_count("log/pawl.log", failed), recs0 = log_count("log/pawl.log", recovered);
	size_t fails, n = 0, bound;
	long t0, span;

	make_collection(coll, sizeof coll);
	CU_ASSERT_FATAL(stop_process(pid_a));
	t0 = harness_now_ms();
	while (harness_now_ms() - t0 < OUTAGE_MS) {
		n += create_record(coll, id, sizeof id);
		sleep_ms(100);
	}
	kill(pid_a, SIGCONT);
	for (long waited = 0; waited < DELIVERY_MS &&
	     log_count("log/pawl.log", recovered) == recs0; waited += 100)
		sleep_ms(100);
	span = harness_now_ms() - t0;
	fails = log_count("log/pawl.log", failed) - fails0;
	/* Line k comes (2^k - 1) s or more after the first (the gaps double from 1 s). */
	for (bound = 0; ((1L << bound) - 1) * 1000 <= span; bound++)
		;
	CHECK(fails >= 1 && fails <= bound, "%zu event.delivery_failed lines for %s over a %ld ms "
	      "outage under %zu writes; the schedule allows 1 to %zu", fails, LIST_LISTENER, span, n,
	      bound);
	sleep_ms(1500); /* a second recovered line, or a late failure, would show now */
	CHECK(log_count("log/pawl.log", recovered) == recs0 + 1,
	      "%zu event.delivery_recovered lines for %s, expected 1",
	      log_count("log/pawl.log", recovered) - recs0, LIST_LISTENER);
	CHECK(log_count("log/pawl.log", failed) - fails0 == fails, "a failure logged after recovery");
	snprintf(port, sizeof port, "127.0.0.1:%d", port_a);
	CHECK(log_count("log/pawl.log", SECRET) == 0 && log_count("log/pawl.log", port) == 0,
	      "the listener's password or address is in pawl.log");
	printf("\n    isolation: %zu writes over a %ld ms outage: %zu failure line(s) (at most %zu)\n",
	       n, span, fails, bound);
}

void test_isolation_register(void)
{
	CU_pSuite s = CU_add_suite("isolation", suite_init, suite_clean);

	CU_add_test(s, "list listener down: the stream gets its events, its rows go",
		    test_list_down);
	CU_add_test(s, "stream listener down: the list gets its events, its rows go",
		    test_stream_down);
	CU_add_test(s, "an outage's failure lines are throttled, one recovered line",
		    test_log_throttled);
}

/*
 * What consumers of the Redis list are promised (docs/consumers.md): the
 * listener's appends are idempotent -- an outbox row pushed again, or a
 * relay retry after a Redis stall (SIGSTOP), adds no second copy -- and the
 * example consumer (tests/consumer) handles every event exactly once, in
 * commit order per list, while it is killed and restarted and Redis stalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "events_util.h"

#define LISTENER "redis"            /* pawl-stack's listener of EVENTS_LIST */
#define HWM_KEY EVENTS_LIST ":hwm"  /* the marks the append script keeps */
#define STALL_MS 3000               /* well over the relay's 500 ms Redis timeout */
#define DRAIN_WRITES 300
#define MAX_EXPECT 128
#define PROCESSING EVENTS_LIST ".consumers"
#define CONSUMER_STALL_MS 2000      /* under the consumer's 5 s socket timeout */

static pid_t stopped_redis = -1;

static void state_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", harness_state_dir(), name);
}

/* Redis must never stay stopped, whatever fails in between. */
static void redis_cont(void)
{
	if (stopped_redis > 0)
		kill(stopped_redis, SIGCONT);
	stopped_redis = -1;
}

static bool redis_stop(void)
{
	static bool hooked;
	pid_t pid = harness_pid_file("run/redis.pid");

	if (!hooked)
		hooked = atexit(redis_cont) == 0;
	if (!stop_process(pid))
		return false;
	stopped_redis = pid;
	return true;
}

/* A mark: the event's timestamp and its outbox id (relay.c, order_of). */
struct mark {
	long long ts, id;
};

/*
 * HGET of the marks hash (a fresh connection: the harness's may be
 * mid-stall); ts -1 when there is none. A mark is two zero-padded 20-digit
 * numbers, so that its bytes sort as (timestamp, id).
 */
static struct mark hwm_of(const char *list_key)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", atoi(getenv("PAWL_REDIS_PORT")), tv);
	redisReply *r = c && !c->err ? redisCommand(c, "HGET %s %s", HWM_KEY, list_key) : NULL;
	struct mark m = { -1, -1 };
	char ts[21];

	if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40) {
		memcpy(ts, r->str, 20);
		ts[20] = '\0';
		m.ts = atoll(ts);
		m.id = atoll(r->str + 20);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return m;
}

/* Outbox rows still waiting for list_key (-1 on error). */
static long outbox_rows(const char *list_key)
{
	char sql[512], out[64];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE list_key = '%s'", list_key);
	return harness_psql(sql, out, sizeof out) ? atol(out) : -1;
}

/* Events of e whose event_id is id. */
static size_t copies_of(const struct events *e, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += jstr(e->v[i], "event_id") && strcmp(jstr(e->v[i], "event_id"), id) == 0;
	return n;
}

/*
 * The same push twice appends once: outbox rows already delivered (the
 * mark's, and an older one) are put back, as a relay retry or a lost DELETE
 * would; the relay takes them and Redis gets nothing. A row above the mark,
 * pushed in the same pass, still arrives (once); so does one with a lower
 * outbox id but a later timestamp, as a database restored from a backup
 * writes (its ids start again lower, its clock does not).
 */
static void test_repush_appends_once(void)
{
	char b[64], p[256], key[256], sql[4096];
	struct events e;
	struct mark mark;
	long rows = -1;

	unique_id(b, sizeof b, "ra");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	/* Ten records: the rows put back below sit up to 10 ids under the mark. */
	for (int i = 0; i < 10; i++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r%d", b, i);
		write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	CHECK(events_wait(EVENTS_LIST, in_bucket, b, 12, DELIVERY_MS, &e) == 12,
	      "%zu events of %s delivered, expected 12", e.n, b);
	events_free(&e);
	snprintf(key, sizeof key, "/buckets/%s/collections/c record", b);
	mark = hwm_of(key);
	CHECK(mark.ts > 1 && mark.id > 10, "no high-water mark for '%s' in %s after delivery", key,
	      HWM_KEY);
	CU_ASSERT_FATAL(mark.ts > 1 && mark.id > 10);

#define ROW(id, ts, name) "(" id ", '" LISTENER "', '%s', '{\\\"timestamp\\\":" ts \
	",\\\"action\\\":\\\"create\\\",\\\"bucket_id\\\":\\\"%s\\\",\\\"event_id\\\":\\\"" name "\\\"}')"
	snprintf(sql, sizeof sql,
		 "INSERT INTO outbox (id, listener, list_key, payload) VALUES "
		 ROW("%lld", "%lld", "again") "," ROW("%lld", "%lld", "older") ","
		 ROW("%lld", "%lld", "restored") "," ROW("nextval('outbox_id_seq')", "%lld", "newer")
		 "; NOTIFY pawl_outbox",
		 mark.id, key, mark.ts, b, mark.id - 1, key, mark.ts, b,
		 mark.id - 10, key, mark.ts + 1, b, key, mark.ts + 2, b);
#undef ROW
	CU_ASSERT_FATAL(harness_psql(sql, NULL, 0));
	for (long waited = 0; waited < DELIVERY_MS && (rows = outbox_rows(key)) != 0; waited += 50)
		sleep_ms(50);
	CHECK(rows == 0, "%ld re-pushed outbox rows never taken", rows);
	events_wait(EVENTS_LIST, in_bucket, b, 14, DELIVERY_MS, &e);
	CHECK(copies_of(&e, "again") == 0, "an event re-pushed with the mark's id was appended again");
	CHECK(copies_of(&e, "older") == 0, "an event below the mark was appended");
	CHECK(copies_of(&e, "newer") == 1, "the event above the mark came %zu times, expected once",
	      copies_of(&e, "newer"));
	CHECK(copies_of(&e, "restored") == 1, "a later event under a lower outbox id came %zu times, "
	      "expected once", copies_of(&e, "restored"));
	CHECK(e.n == 14 && duplicate_ids(&e) == 0, "%zu events of %s, %zu duplicates; expected 14, none",
	      e.n, b, duplicate_ids(&e));
	CHECK(hwm_of(key).ts == mark.ts + 2, "the mark did not move past the newer row");
	events_free(&e);
}

/* PUTs record i of collection c%(i%2) of b; its timestamp into ts. */
static void write_record(const char *b, int i, long long *ts)
{
	char p[256];

	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d/records/r%d", b, i % 2, i);
	*ts = write_ok("PUT", p, "{\"data\":{}}", 201);
}

/* Per collection, e's events carry ts[] in write order: each exactly once. */
static void check_commit_order(const struct events *e, const long long *ts, int n)
{
	for (int c = 0; c < 2; c++) {
		int want = c;

		for (size_t i = 0; i < e->n; i++) {
			const char *coll = jstr(e->v[i], "collection_id");

			if (coll == NULL || jstr(e->v[i], "record_id") == NULL || coll[1] - '0' != c)
				continue;
			if (want >= n || jint(e->v[i], "timestamp") != ts[want]) {
				CHECK(false, "collection c%d: event %zu is %s, expected the write %d", c, i,
				      json_object_to_json_string(e->v[i]), want);
				break; /* the rest would say the same */
			}
			want += 2;
		}
		CHECK(want >= n, "collection c%d: %d of its writes' events arrived", c, want / 2);
	}
}

/*
 * Redis stopped (SIGSTOP) for 3 s while writes go on: the relay's pushes
 * time out and are retried, and the ones sent before the stall run after
 * it. Every event arrives exactly once, in commit order per list. Before,
 * time to drain DRAIN_WRITES events with Redis up, for the record.
 */
static void test_stalled_redis(void)
{
	static long long ts[DRAIN_WRITES + 400];
	char b[64], p[256];
	struct events e;
	long t0, write_ms, drain_ms, stall_end;
	size_t fails, skipped;
	int n = 0;

	unique_id(b, sizeof b, "st");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int c = 0; c < 2; c++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d", b, c);
		write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	t0 = harness_now_ms();
	for (; n < DRAIN_WRITES; n++)
		write_record(b, n, &ts[n]);
	write_ms = harness_now_ms() - t0;
	t0 = harness_now_ms();
	events_wait(EVENTS_LIST, in_bucket, b, (size_t)n + 3, DELIVERY_MS, &e);
	drain_ms = harness_now_ms() - t0;
	CHECK(e.n == (size_t)n + 3, "%zu events before the stall, expected %d", e.n, n + 3);
	printf("\n    %d writes in %ld ms (%.2f ms each), all delivered %ld ms after the last answer\n",
	       n, write_ms, (double)write_ms / n, drain_ms);
	events_free(&e);

	fails = log_count("log/pawl.log", "event.delivery_failed");
	skipped = log_count("log/pawl.log", "were already there (a retried push)");
	CU_ASSERT_FATAL(redis_stop());
	stall_end = harness_now_ms() + STALL_MS;
	while (harness_now_ms() < stall_end && n < (int)(sizeof ts / sizeof *ts) - 20) {
		write_record(b, n, &ts[n]);
		n++;
		sleep_ms(10);
	}
	redis_cont();
	for (int i = 0; i < 20; i++, n++) /* and after: the backlog goes first, in order */
		write_record(b, n, &ts[n]);
	events_wait(EVENTS_LIST, in_bucket, b, (size_t)n + 3, 30000, &e);
	sleep_ms(1500); /* time for a late copy to land, had the relay pushed one */
	events_free(&e);
	events_fetch(EVENTS_LIST, in_bucket, b, &e);
	CHECK(log_count("log/pawl.log", "event.delivery_failed") > fails,
	      "the relay never failed a push during the stall: the test proved nothing");
	CHECK(duplicate_ids(&e) == 0, "%zu duplicate copies among %zu events after the stall",
	      duplicate_ids(&e), e.n);
	CHECK(e.n == (size_t)n + 3, "%zu events after the stall, expected %d", e.n, n + 3);
	check_commit_order(&e, ts, n);
	printf("    Redis stalled %d ms under %d writes: %zu events, %zu duplicates, "
	       "%zu re-pushes skipped by the script\n", STALL_MS, n - DRAIN_WRITES - 20, e.n,
	       duplicate_ids(&e),
	       log_count("log/pawl.log", "were already there (a retried push)") - skipped);
	events_free(&e);
}

/* --- the example consumer under interruptions ----------------------------- */

struct workload {
	const char *b;
	struct expect x[MAX_EXPECT];
	int n;
};

/* A write expected to produce one event (action, the path's URI, its timestamp). */
static void expect_write(struct workload *w, const char *method, const char *action,
			 const char *path, const char *body, long status)
{
	long long ts = write_ok(method, path, body, status);

	if (w->n < MAX_EXPECT)
		expect_set(&w->x[w->n++], action, path, ts, false);
}

/* PUT of record r<i> in collection c<i%2>: a create. */
static void put_record(struct workload *w, int i)
{
	char p[256];

	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d/records/r%d", w->b, i % 2, i);
	expect_write(w, "PUT", "create", p, "{\"data\":{}}", 201);
}

/*
 * A batch of three creates in c0 and an update in c1: two merged events,
 * each named by its first write (app/events/stage.c).
 */
static void batch(struct workload *w)
{
	const char *hdrs[] = { events_auth(), NULL };
	char body[2048], p[256];
	struct http_resp r;
	json_object *resps;

	snprintf(body, sizeof body, "{\"defaults\":{\"body\":{\"data\":{}}},\"requests\":["
		 "{\"method\":\"PUT\",\"path\":\"/buckets/%1$s/collections/c0/records/x1\"},"
		 "{\"method\":\"PUT\",\"path\":\"/buckets/%1$s/collections/c0/records/x2\"},"
		 "{\"method\":\"PATCH\",\"path\":\"/buckets/%1$s/collections/c1/records/r3\","
		 "\"body\":{\"data\":{\"n\":1}}},"
		 "{\"method\":\"PUT\",\"path\":\"/buckets/%1$s/collections/c0/records/x3\"}]}", w->b);
	http_request("POST", "/v1/batch", hdrs, body, &r);
	assert_status(&r, 200);
	resps = resp_json(&r, "responses");
	for (size_t i = 0; resps != NULL && i < json_object_array_length(resps) && i < 3; i++) {
		json_object *one = json_object_array_get_idx(resps, i), *data;

		data = json_object_object_get(json_object_object_get(one, "body"), "data");
		CHECK(jint(one, "status") == (i == 2 ? 200 : 201), "batch response %zu: %s", i,
		      json_object_to_json_string(one));
		snprintf(p, sizeof p, "%s", jstr(one, "path") ? jstr(one, "path") : "");
		if (i != 1 && w->n < MAX_EXPECT) /* x2 and x3 are in x1's merged event */
			expect_set(&w->x[w->n++], i == 2 ? "update" : "create", p,
				   jint(data, "last_modified"), false);
	}
	CHECK(resps != NULL && json_object_array_length(resps) == 4, "batch: %s", body_snip(&r));
	http_resp_free(&r);
}

static pid_t consumer_start(const char *out, const char *seen)
{
	char bin[4096], err[512];
	pid_t pid;

	snprintf(bin, sizeof bin, "%s/tests/consumer/pawl-consumer", getenv("PAWL_BUILDDIR"));
	state_path(err, sizeof err, "consumers.err");
	if (access(bin, X_OK) != 0) {
		fprintf(stderr, "consumers: %s: %s (built by make check)\n", bin, strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(bin, bin, "-p", getenv("PAWL_REDIS_PORT"), "-l", EVENTS_LIST, "-w", PROCESSING,
		      "-o", out, "-f", seen, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The consumer's output lines of bucket b (parsed; NULL where not JSON). */
static size_t output_of(const char *path, const char *b, struct events *e)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *f = fopen(path, "r");

	e->v = calloc(MAX_EXPECT * 4, sizeof *e->v);
	e->n = 0;
	while (f != NULL && e->v != NULL && e->n < MAX_EXPECT * 4 &&
	       (got = getline(&line, &cap, f)) > 0) {
		json_object *o = json_tokener_parse(line);

		if (o == NULL || in_bucket(o, b))
			e->v[e->n++] = o;
		else
			json_object_put(o);
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return e->n;
}

/* Within each list (resource, bucket, collection), strictly increasing timestamps. */
static void check_list_order(const struct events *e)
{
	for (size_t i = 0; i < e->n; i++)
		for (size_t j = i + 1; j < e->n; j++) {
			const char *ri = jstr(e->v[i], "resource_name"), *rj = jstr(e->v[j], "resource_name");
			const char *ci = jstr(e->v[i], "collection_id"), *cj = jstr(e->v[j], "collection_id");

			if (ri == NULL || rj == NULL || strcmp(ri, rj) != 0 ||
			    strcmp(ci ? ci : "", cj ? cj : "") != 0)
				continue;
			CHECK(jint(e->v[j], "timestamp") > jint(e->v[i], "timestamp"),
			      "handled out of commit order: %s after %s", json_object_to_json_string(e->v[j]),
			      json_object_to_json_string(e->v[i]));
		}
}

/* The last line of path into out (without its newline); the line count. */
static size_t last_line(const char *path, char *out, size_t size)
{
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	while (f != NULL && (got = getline(&line, &cap, f)) > 0) {
		snprintf(out, size, "%.*s", (int)strcspn(line, "\n"), line);
		n++;
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return n;
}

/*
 * What a kill can leave, made certain: the last event handled but never
 * acknowledged (back in the processing list), and its id never written to
 * the memory file (the kill fell between the two writes).
 */
static void leave_as_killed(const char *out, const char *seen)
{
	char last[4096], id[128];
	size_t n = last_line(seen, id, sizeof id);
	FILE *f;

	CU_ASSERT_FATAL(last_line(out, last, sizeof last) > 0 && n > 0);
	CU_ASSERT_FATAL(redis_cmd("LPUSH %s %s", PROCESSING, last));
	/* The memory file without its last id. */
	CU_ASSERT_FATAL((f = fopen(seen, "r+")) != NULL);
	fseek(f, 0, SEEK_END);
	CU_ASSERT_FATAL(ftruncate(fileno(f), ftell(f) - (long)strlen(id) - 1) == 0);
	fclose(f);
}

/*
 * Creates, updates, deletes, a batch, a plural DELETE and a collection
 * deleted and re-created, while the consumer is killed (SIGKILL) and
 * restarted once, a worker is killed and Redis stalls once: in the end the
 * consumer handled each write's event exactly once, per list in commit
 * order, its de-duplication memory having survived the restart (the kill
 * left its last event unacknowledged and, in the memory file, unrecorded).
 */
static void test_consumer_interrupted(void)
{
	char b[64], p[256], out[512], seen[512];
	static struct workload w;
	struct events e = { NULL, 0 };
	pid_t pid;
	int status, i = 0;

	state_path(out, sizeof out, "consumers.out");
	state_path(seen, sizeof seen, "consumers.seen");
	unlink(out);
	unlink(seen);
	unique_id(b, sizeof b, "co");
	memset(&w, 0, sizeof w);
	w.b = b;
	CU_ASSERT_FATAL(redis_cmd("DEL %s %s", EVENTS_LIST, PROCESSING));
	CU_ASSERT_FATAL((pid = consumer_start(out, seen)) > 0);

	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	expect_write(&w, "PUT", "create", p, "{\"data\":{}}", 201);
	for (int c = 0; c < 2; c++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d", b, c);
		expect_write(&w, "PUT", "create", p, "{\"data\":{}}", 201);
	}
	for (; i < 12; i++)
		put_record(&w, i);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c0/records/r0", b);
	expect_write(&w, "PATCH", "update", p, "{\"data\":{\"n\":2}}", 200);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c0/records/r2", b);
	expect_write(&w, "DELETE", "delete", p, NULL, 200);
	for (long waited = 0; waited < DELIVERY_MS && output_of(out, b, &e) < 5; waited += 50) {
		events_free(&e);
		sleep_ms(50);
	}
	events_free(&e);
	kill(pid, SIGKILL); /* mid-stream */
	waitpid(pid, &status, 0);
	leave_as_killed(out, seen);
	for (; i < 20; i++)
		put_record(&w, i);
	batch(&w);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c1/records", b);
	expect_write(&w, "DELETE", "delete", p, NULL, 200);
	kill_a_worker();
	/* c1 deleted (a cascade) and re-created: its records' events go on above the old ones. */
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c1", b);
	expect_write(&w, "DELETE", "delete", p, NULL, 200);
	expect_write(&w, "PUT", "create", p, "{\"data\":{}}", 201);
	CU_ASSERT_FATAL((pid = consumer_start(out, seen)) > 0);
	sleep_ms(300);
	CU_ASSERT_FATAL(redis_stop());
	for (long end = harness_now_ms() + CONSUMER_STALL_MS; harness_now_ms() < end; i++) {
		put_record(&w, i);
		sleep_ms(100);
	}
	redis_cont();
	for (int k = 0; k < 5; k++, i++)
		put_record(&w, i);

	for (long waited = 0; waited < 20000 && output_of(out, b, &e) < (size_t)w.n; waited += 100) {
		events_free(&e);
		sleep_ms(100);
	}
	events_free(&e);
	sleep_ms(1500); /* a late duplicate would land now */
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the restarted consumer ended with %d",
	      status);
	output_of(out, b, &e);
	CHECK(e.n == (size_t)w.n && duplicate_ids(&e) == 0,
	      "the consumer handled %zu events of %s (%zu duplicates), expected %d", e.n, b,
	      duplicate_ids(&e), w.n);
	for (int k = 0; k < w.n; k++) {
		size_t found = 0;

		for (size_t j = 0; j < e.n; j++)
			found += e.v[j] && jstr(e.v[j], "action") && jstr(e.v[j], "uri") &&
				 strcmp(jstr(e.v[j], "action"), w.x[k].action) == 0 &&
				 strcmp(jstr(e.v[j], "uri"), w.x[k].uri) == 0 &&
				 jint(e.v[j], "timestamp") == w.x[k].ts;
		CHECK(found == 1, "%s %s at %lld handled %zu times, expected once", w.x[k].action,
		      w.x[k].uri, w.x[k].ts, found);
	}
	check_list_order(&e);
	events_free(&e);
	{
		char err[512], line[256];
		FILE *f;

		state_path(err, sizeof err, "consumers.err");
		if ((f = fopen(err, "r")) != NULL) {
			while (fgets(line, sizeof line, f) != NULL)
				printf("\n    %.*s", (int)strcspn(line, "\n"), line);
			if (strstr(line, " handled, ") != NULL) /* the summary of the run that stopped */
				CHECK(strstr(line, " 1 duplicates skipped") != NULL,
				      "the redelivered event was not dropped once: %s", line);
			fclose(f);
		}
		printf("\n    ");
	}
}

void test_consumers_register(void)
{
	CU_pSuite s = CU_add_suite("consumers", NULL, NULL);

	CU_add_test(s, "the same push twice appends once", test_repush_appends_once);
	CU_add_test(s, "Redis stalled during delivery: no duplicates", test_stalled_redis);
	CU_add_test(s, "the example consumer, killed once, a worker killed, Redis stalled once",
		    test_consumer_interrupted);
}

/*
 * The unit of work seen from outside, on the personal `default` bucket,
 * whose first use commits the bucket and the collection before the write
 * itself: those implicit creations behave like every other write. Their
 * events reach in-process subscribers only after the response (the jsonl
 * plugin's file is swapped for a FIFO nobody reads yet: a subscriber run
 * before the response would hold the response back), and reach Redis
 * through the outbox and the supervisor's relay (stopped here: nothing may
 * arrive until it runs again), in commit order (docs/ARCHITECTURE.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events_util.h"
#include "harness.h"

#define READER_DELAY_MS 3000  /* the FIFO's reader opens it this late */
#define READER_WAIT_MS 15000  /* and gives up on the events after this */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A user nobody used before: Basic credentials into auth, its bucket id into bid. */
static void new_user(char *auth, size_t auth_size, char *bid, size_t bid_size)
{
	const char *hdrs[] = { auth, NULL };
	struct http_resp r;
	json_object *b;
	char name[64];

	unique_id(name, sizeof name, "txnuser");
	basic_auth(auth, auth_size, name, "pw");
	http_request("GET", "/v1/", hdrs, NULL, &r);
	b = resp_json(&r, "user.bucket");
	snprintf(bid, bid_size, "%s", b != NULL ? json_object_get_string(b) : "");
	CHECK(bid[0] != '\0', "GET /v1/ names no personal bucket: %s", body_snip(&r));
	http_resp_free(&r);
}

/* The first write of the user: bucket, collection and record created. Returns the status. */
static long first_write(const char *auth, long long *ms)
{
	const char *hdrs[] = { auth, NULL };
	struct http_resp r;
	long long t0 = mono_ms();
	long status;

	http_request("POST", "/v1/buckets/default/collections/txn/records", hdrs,
		     "{\"data\":{\"n\":1}}", &r);
	*ms = mono_ms() - t0;
	status = r.status;
	CHECK(status == 201, "first write to the personal bucket: HTTP %ld %s: %s", status, r.error,
	      body_snip(&r));
	http_resp_free(&r);
	return status;
}

/* The resource_name,action pairs of a bucket's events, in order ("bucket:create,..."). */
static void describe(json_object *const *v, size_t n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		json_object *ev = v[i];

		len += (size_t)snprintf(out + len, size - len, "%s%s:%s", i ? "," : "",
					jstr(ev, "resource_name"), jstr(ev, "action"));
	}
}

#define WANT_ORDER "bucket:create,collection:create,record:create"

/*
 * The FIFO's reader (a child): opens it late, collects the lines about bid
 * until it has three, writes them to out_path, says so on done_fd, and
 * keeps the FIFO open until go_fd says the file is back in place.
 */
static void fifo_reader(const char *fifo, const char *bid, const char *out_path, int done_fd,
			int go_fd)
{
	char buf[65536];
	size_t len = 0, found = 0;
	long long until;
	int fd;
	FILE *out;

	sleep_ms(READER_DELAY_MS);
	/* Non-blocking: no writer yet is no reason to hang. */
	fd = open(fifo, O_RDONLY | O_NONBLOCK);
	until = mono_ms() + READER_WAIT_MS;
	while (fd >= 0 && found < 3 && mono_ms() < until && len < sizeof buf - 1) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);

		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			found = 0;
			for (const char *p = buf; (p = strstr(p, bid)) != NULL; p++)
				found++;
		} else {
			sleep_ms(20);
		}
	}
	if ((out = fopen(out_path, "w")) != NULL) {
		fwrite(buf, 1, len, out);
		fclose(out);
	}
	(void)!write(done_fd, "d", 1);
	(void)!read(go_fd, buf, 1);
	_exit(0);
}

/* The events of bid among the jsonl lines of path, in file order, into e. */
static void jsonl_events(const char *path, const char *bid, struct events *e)
{
	char line[65536];
	FILE *f = fopen(path, "r");

	memset(e, 0, sizeof(*e));
	e->v = calloc(16, sizeof(*e->v));
	while (f != NULL && e->v != NULL && e->n < 16 && fgets(line, sizeof line, f) != NULL) {
		json_object *doc = json_tokener_parse(line), *ev;

		if (doc != NULL && json_object_object_get_ex(doc, "event", &ev) && in_bucket(ev, bid))
			e->v[e->n++] = json_object_get(ev);
		json_object_put(doc);
	}
	if (f != NULL)
		fclose(f);
}

static void test_subscribers_after_response(void)
{
	char path[4096], saved[4096], out[4096], auth[256], bid[128], got[512];
	int done[2], go[2];
	long long ms = 0;
	struct events e;
	pid_t reader;
	char c;

	snprintf(path, sizeof path, "%s/events.jsonl", harness_state_dir());
	snprintf(saved, sizeof saved, "%s/events.jsonl.txn-saved", harness_state_dir());
	snprintf(out, sizeof out, "%s/txn-fifo.out", harness_state_dir());
	CU_ASSERT_FATAL(access(path, F_OK) == 0); /* the jsonl plugin is configured */
	new_user(auth, sizeof auth, bid, sizeof bid);
	CU_ASSERT_FATAL(rename(path, saved) == 0);
	if (mkfifo(path, 0666) != 0 || chmod(path, 0666) != 0 || pipe(done) != 0 || pipe(go) != 0) {
		CHECK(false, "cannot set up the FIFO: %s", strerror(errno));
		rename(saved, path);
		return;
	}
	if ((reader = fork()) == 0)
		fifo_reader(path, bid, out, done[1], go[0]);
	first_write(auth, &ms);
	/* A subscriber run before the response would have waited for the reader. */
	CHECK(ms < READER_DELAY_MS, "the response took %lld ms: it waited for the jsonl subscriber, "
	      "which must run only after the response", ms);
	(void)!read(done[0], &c, 1);
	CHECK(rename(saved, path) == 0, "cannot put events.jsonl back: %s", strerror(errno));
	(void)!write(go[1], "g", 1);
	waitpid(reader, NULL, 0);
	close(done[0]);
	close(done[1]);
	close(go[0]);
	close(go[1]);
	jsonl_events(out, bid, &e);
	describe(e.v, e.n, got, sizeof got);
	CHECK(strcmp(got, WANT_ORDER) == 0, "the subscriber got %s, expected " WANT_ORDER, got);
	events_free(&e);
	unlink(out);
}

/* The relay's pid: the last "relay: started" line of pawl.log, if a child of the supervisor. */
static pid_t relay_pid(void)
{
	char path[4096], line[4096];
	pid_t kids[64], pid = -1;
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/log/pawl.log", harness_state_dir());
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		const char *p = strstr(line, "pawl[");  /* "[<time> ]pawl[<pid>] INFO app: ..." */

		if (strstr(line, "relay: started") != NULL && p != NULL)
			pid = (pid_t)atol(p + strlen("pawl["));
	}
	fclose(f);
	n = children_of(supervisor_pid(), kids, 64);
	for (size_t i = 0; i < n; i++)
		if (kids[i] == pid)
			return pid;
	return -1;
}

static void test_relay_delivers_implicit_creations(void)
{
	char auth[256], bid[128], sql[512], rows[512] = "", got[512];
	pid_t relay = relay_pid();
	long long ms = 0;
	struct events e;

	CU_ASSERT_FATAL(relay > 0);
	new_user(auth, sizeof auth, bid, sizeof bid);
	CU_ASSERT_FATAL(stop_process(relay));
	first_write(auth, &ms);
	sleep_ms(300); /* time for a worker's own delivery, had it made one */
	events_fetch(EVENTS_LIST, in_bucket, bid, &e);
	snprintf(sql, sizeof sql, "SELECT string_agg((payload::json)->>'resource_name', ',' "
		 "ORDER BY id) FROM outbox WHERE listener = 'redis' AND "
		 "(payload::json)->>'bucket_id' = '%s'", bid);
	harness_psql(sql, rows, sizeof rows);
	kill(relay, SIGCONT); /* always, before any fatal assertion */
	describe(e.v, e.n, got, sizeof got);
	CHECK(e.n == 0, "with the relay stopped, Redis already has %s: a worker delivered the "
	      "events itself instead of leaving them to the relay", got);
	events_free(&e);
	CHECK(strcmp(rows, "bucket,collection,record") == 0,
	      "outbox rows with the relay stopped: '%s', expected bucket,collection,record", rows);
	events_wait(EVENTS_LIST, in_bucket, bid, 3, DELIVERY_MS, &e);
	describe(e.v, e.n, got, sizeof got);
	CHECK(strcmp(got, WANT_ORDER) == 0, "Redis got %s, expected " WANT_ORDER, got);
	events_free(&e);
}

void test_txn_register(void)
{
	CU_pSuite s = CU_add_suite("unit of work (personal bucket)", NULL, NULL);

	CU_add_test(s, "implicit creations reach subscribers after the response",
		    test_subscribers_after_response);
	CU_add_test(s, "implicit creations reach Redis through the outbox and the relay",
		    test_relay_delivers_implicit_creations);
}

/*
 * Delivery beyond the happy path: the jsonl plugin listener (lines, impacted
 * objects, rotation, health), the example consumer (tests/consumer) on real
 * events, a Redis outage under 200 writes, and, in --enable-fault-injection
 * builds, workers killed between COMMIT and the push. Stops Redis: register
 * it after the suites that need Redis up, before "storage".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events_util.h"

#define OUTAGE_WRITES 200
#define OUTAGE_MAX_WRITE_MS 1000 /* Redis' client timeout is 500 ms: a write never waits on it */
#define FAULT_BUCKET "pawlfaultkill" /* harness.c: PAWL_FAULT_KILL_AFTER_COMMIT */
#define FAULT_WRITES 5

static void state_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", harness_state_dir(), name);
}

/* --- the jsonl plugin ------------------------------------------------------ */

/* The whole lines of a file, parsed (NULL where a line is not JSON). */
static size_t read_lines(const char *path, json_object ***out)
{
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL;
	ssize_t got;
	FILE *f = fopen(path, "r");

	*out = NULL;
	while (f != NULL && (got = getline(&line, &len, f)) > 0) {
		if (line[got - 1] != '\n')
			break; /* being written: a line is whole once its newline is there */
		if (n == cap) {
			json_object **grown = realloc(*out, (cap = cap ? cap * 2 : 256) * sizeof **out);

			if (grown == NULL)
				break;
			*out = grown;
		}
		(*out)[n++] = json_tokener_parse(line);
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return n;
}

/* A plugin line: exactly {"event": {...}, "impacted": [...]}. */
static bool jsonl_shaped(json_object *o)
{
	return o != NULL && json_object_is_type(o, json_type_object) &&
	       json_object_object_length(o) == 2 &&
	       json_object_is_type(json_object_object_get(o, "event"), json_type_object) &&
	       json_object_is_type(json_object_object_get(o, "impacted"), json_type_array);
}

static void jsonl_free(json_object **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_put(v[i]);
	free(v);
}

/* The lines whose event is in bucket b, polled until want of them are there. */
static size_t jsonl_wait(const char *path, const char *b, size_t want, json_object **lines,
			 size_t max, size_t *bad)
{
	size_t k = 0;

	for (long waited = 0; waited <= DELIVERY_MS; waited += 50) {
		json_object **all;
		size_t n = read_lines(path, &all);

		k = 0;
		*bad = 0;
		for (size_t i = 0; i < n; i++) {
			if (!jsonl_shaped(all[i]))
				(*bad)++;
			else if (k < max && in_bucket(json_object_object_get(all[i], "event"), b))
				lines[k++] = json_object_get(all[i]);
		}
		jsonl_free(all, n);
		if (k >= want || waited + 50 > DELIVERY_MS)
			break;
		for (size_t i = 0; i < k; i++)
			json_object_put(lines[i]);
		k = 0;
		sleep_ms(50);
	}
	return k;
}

static json_object *impact(json_object *line, size_t i, const char *which)
{
	json_object *arr = json_object_object_get(line, "impacted");
	json_object *o = arr && i < json_object_array_length(arr) ? json_object_array_get_idx(arr, i)
								  : NULL;

	return which == NULL ? o : json_object_object_get(o, which);
}

static long heartbeat(const char *key, int *value)
{
	struct http_resp r;
	json_object *v;
	long status;

	http_request("GET", "/v1/__heartbeat__", NULL, NULL, &r);
	v = resp_json(&r, key);
	*value = v != NULL && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
									 : -1;
	status = r.status;
	http_resp_free(&r);
	return status;
}

static void test_jsonl_plugin(void)
{
	char b[64], p[256], file[512], rotated[512];
	json_object *lines[16];
	struct events e;
	size_t k, bad, fails;
	int healthy;

	state_path(file, sizeof file, "events.jsonl");
	heartbeat("jsonl", &healthy);
	CHECK(healthy == 1, "no healthy 'jsonl' listener in __heartbeat__ (plugin not built? "
	      "expected $PAWL_BUILDDIR/app/plugins/pawl-jsonl.so)");
	CU_ASSERT_FATAL(healthy == 1);

	unique_id(b, sizeof b, "pl");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r1", b);
	write_ok("PUT", p, "{\"data\":{\"n\":1}}", 201);
	write_ok("PATCH", p, "{\"data\":{\"m\":2}}", 200);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r2", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records", b);
	write_ok("DELETE", p, NULL, 200);

	k = jsonl_wait(file, b, 6, lines, 16, &bad);
	events_wait(EVENTS_LIST, in_bucket, b, 6, DELIVERY_MS, &e);
	CHECK(k == 6, "%zu jsonl lines for bucket %s, expected 6", k, b);
	CHECK(bad == 0, "%zu lines of %s are not {\"event\",\"impacted\"} JSON (interleaved?)", bad,
	      file);
	/* The same events as Redis got: payload for payload, by event_id. */
	for (size_t i = 0; i < k; i++) {
		json_object *ev = json_object_object_get(lines[i], "event"), *match = NULL;

		for (size_t j = 0; j < e.n && match == NULL; j++)
			if (jstr(e.v[j], "event_id") && jstr(ev, "event_id") &&
			    strcmp(jstr(e.v[j], "event_id"), jstr(ev, "event_id")) == 0)
				match = e.v[j];
		CHECK(match != NULL && json_object_equal(match, ev),
		      "jsonl event %s differs from Redis' %s", json_object_to_json_string(ev),
		      match ? json_object_to_json_string(match) : "(none with its event_id)");
	}
	if (k == 6) {
		/* create {new}; update {old,new}; list delete {old, new: tombstone} per object. */
		CHECK(impact(lines[2], 0, "old") == NULL && jint(impact(lines[2], 0, "new"), "n") == 1 &&
			      json_object_object_length(impact(lines[2], 0, NULL)) == 1,
		      "record create impacted: %s", json_object_to_json_string(lines[2]));
		CHECK(jint(impact(lines[3], 0, "old"), "m") == -1 &&
			      jint(impact(lines[3], 0, "new"), "m") == 2,
		      "record update impacted: %s", json_object_to_json_string(lines[3]));
		CHECK(json_object_array_length(json_object_object_get(lines[5], "impacted")) == 2,
		      "list delete: %s", json_object_to_json_string(lines[5]));
		for (size_t i = 0; i < 2; i++) {
			json_object *tomb = impact(lines[5], i, "new"), *d;

			CHECK(jstr(impact(lines[5], i, "old"), "id") && jstr(tomb, "id") &&
				      strcmp(jstr(impact(lines[5], i, "old"), "id"), jstr(tomb, "id")) == 0 &&
				      json_object_object_get_ex(tomb, "deleted", &d) &&
				      json_object_get_boolean(d),
			      "list delete impacted %zu: %s", i, json_object_to_json_string(lines[5]));
		}
	}
	for (size_t i = 0; i < k; i++)
		json_object_put(lines[i]);
	events_free(&e);

	/* Rotation: a moved file is reopened at its path on the next event. */
	state_path(rotated, sizeof rotated, "events.jsonl.1");
	CU_ASSERT_FATAL(rename(file, rotated) == 0);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r3", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	k = jsonl_wait(file, b, 1, lines, 16, &bad);
	CHECK(k == 1, "%zu lines for bucket %s in %s after rotation, expected 1", k, b, file);
	for (size_t i = 0; i < k; i++)
		json_object_put(lines[i]);

	/* Unwritable path: the heartbeat says so, writes still succeed, then it recovers. */
	CU_ASSERT_FATAL(rename(file, rotated) == 0 && mkdir(file, 0755) == 0);
	CHECK(heartbeat("jsonl", &healthy) == 503 && healthy == 0,
	      "heartbeat with %s a folder: jsonl %d", file, healthy);
	fails = log_count("log/pawl.log", "pawl-jsonl: listener 'jsonl': cannot open");
	write_ok("PUT", p, "{\"data\":{\"lost\":true}}", 200);
	/* The plugin runs after the response: wait for its complaint before the fix. */
	for (long waited = 0; waited < DELIVERY_MS &&
	     log_count("log/pawl.log", "pawl-jsonl: listener 'jsonl': cannot open") == fails;
	     waited += 50)
		sleep_ms(50);
	CHECK(log_count("log/pawl.log", "pawl-jsonl: listener 'jsonl': cannot open") == fails + 1,
	      "the plugin's failure to open %s is not in pawl.log (once)", file);
	CU_ASSERT_FATAL(rmdir(file) == 0);
	CHECK(heartbeat("jsonl", &healthy) == 200 && healthy == 1, "heartbeat after the fix: jsonl %d",
	      healthy);
	write_ok("DELETE", p, NULL, 200);
	k = jsonl_wait(file, b, 1, lines, 16, &bad);
	CHECK(k == 1 && strcmp(jstr(json_object_object_get(lines[0], "event"), "action"), "delete") == 0,
	      "%zu lines in %s after it came back, expected the delete", k, file);
	/* delete {old: the object, new: its tombstone} */
	CHECK(k == 1 && jstr(impact(lines[0], 0, "old"), "id") &&
		      strcmp(jstr(impact(lines[0], 0, "old"), "id"), "r3") == 0 &&
		      json_object_get_boolean(json_object_object_get(impact(lines[0], 0, "new"),
								   "deleted")) &&
		      jint(impact(lines[0], 0, "new"), "last_modified") ==
			      jint(json_object_object_get(lines[0], "event"), "timestamp"),
	      "delete impacted: %s", k ? json_object_to_json_string(lines[0]) : "(no line)");
	for (size_t i = 0; i < k; i++)
		json_object_put(lines[i]);
}

/* --- the example consumer ---------------------------------------------------- */

/* Starts the consumer with args; its stderr goes to the state folder's consumer.err. */
static pid_t start_consumer(char *const *args)
{
	char bin[4096], err_path[512], *argv[24];
	int n = 0, fd;
	pid_t pid;

	snprintf(bin, sizeof bin, "%s/tests/consumer/pawl-consumer", getenv("PAWL_BUILDDIR"));
	state_path(err_path, sizeof err_path, "consumer.err");
	argv[n++] = bin;
	for (; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

/* Its exit status (-1 if it did not exit normally) and what it said on stderr. */
static int wait_consumer(pid_t pid, char *err_text, size_t size)
{
	char err_path[512];
	int status = -1;
	FILE *f;

	if (pid > 0)
		waitpid(pid, &status, 0);
	state_path(err_path, sizeof err_path, "consumer.err");
	err_text[0] = '\0';
	if ((f = fopen(err_path, "r")) != NULL) {
		size_t got = fread(err_text, 1, size - 1, f);

		err_text[got] = '\0';
		fclose(f);
	}
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The event of one write: its bucket and timestamp. */
struct write_match {
	const char *bucket;
	long long ts;
};

static bool is_write(json_object *ev, const void *arg)
{
	const struct write_match *m = arg;

	return in_bucket(ev, m->bucket) && jint(ev, "timestamp") == m->ts;
}

/*
 * The consumer on the real queue: everything in pawl.events, oldest first,
 * after requeueing what a "crashed" consumer held and skipping a redelivery.
 */
static void test_consumer(void)
{
	char processing[] = EVENTS_LIST ".test-consumer";
	char b[64], p[256], out[512], port[16], count[24], err[2048];
	struct events before, mine;
	struct write_match last;
	json_object **got = NULL;
	size_t n_got, same = 0;
	int rc;

	snprintf(port, sizeof port, "%s", getenv("PAWL_REDIS_PORT"));
	state_path(out, sizeof out, "consumer.out");
	unique_id(b, sizeof b, "cs");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records", b);
	for (int i = 0; i < 10; i++)
		write_ok("POST", p, "{\"data\":{}}", 201);
	CHECK(events_wait(EVENTS_LIST, in_bucket, b, 12, DELIVERY_MS, &mine) == 12,
	      "%zu events before the consumer ran, expected 12", mine.n);
	events_free(&mine);

	/* What the consumer must output: the whole queue, oldest first. */
	CU_ASSERT_FATAL(events_fetch(EVENTS_LIST, NULL, NULL, &before) && before.n >= 12);
	/* A consumer that crashed holding three events; the newest event delivered twice
	 * (pawl re-pushes at the head, as LPUSH does), then one more event after it. */
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(redis_cmd("LMOVE %s %s RIGHT LEFT", EVENTS_LIST, processing));
	CU_ASSERT_FATAL(redis_cmd("LPUSH %s %s", EVENTS_LIST,
				  json_object_to_json_string_ext(before.v[before.n - 1],
								 JSON_C_TO_STRING_PLAIN)));
	last.ts = write_ok("POST", p, "{\"data\":{}}", 201);
	last.bucket = b;
	CHECK(events_wait(EVENTS_LIST, is_write, &last, 1, DELIVERY_MS, &mine) == 1,
	      "the last write's event did not arrive");
	snprintf(count, sizeof count, "%zu", before.n + 1);
	{
		char *args[] = { "-p", port, "-l", EVENTS_LIST, "-w", processing, "-n", count,
				 "-t", "30", "-o", out, NULL };

		rc = wait_consumer(start_consumer(args), err, sizeof err);
	}
	CHECK(rc == 0, "pawl-consumer exited with %d: %s", rc, err);
	CHECK(strstr(err, " 1 duplicates skipped, 3 requeued") != NULL, "consumer summary: %s", err);
	n_got = read_lines(out, &got);
	for (size_t i = 0; i < n_got && i < before.n; i++)
		same += got[i] != NULL && json_object_equal(got[i], before.v[i]);
	if (n_got == before.n + 1 && mine.n == 1)
		same += got[before.n] != NULL && json_object_equal(got[before.n], mine.v[0]);
	CHECK(n_got == before.n + 1 && same == n_got,
	      "the consumer wrote %zu events, %zu of them in queue order; expected %zu", n_got,
	      same, before.n + 1);
	jsonl_free(got, n_got);
	events_free(&mine);
	CHECK(redis_llen(EVENTS_LIST) == 0 && redis_llen(processing) == 0,
	      "after the consumer: %lld left in %s, %lld in %s", redis_llen(EVENTS_LIST),
	      EVENTS_LIST, redis_llen(processing), processing);
	events_free(&before);

	/* Live: the consumer blocks in BLMOVE, the writes come, it takes each as it lands. */
	state_path(out, sizeof out, "consumer-live.out");
	{
		char *args[] = { "-p", port, "-n", "5", "-t", "30", "-o", out, NULL };
		pid_t pid = start_consumer(args);

		sleep_ms(300);
		for (int i = 0; i < 5; i++)
			write_ok("POST", p, "{\"data\":{\"live\":1}}", 201);
		rc = wait_consumer(pid, err, sizeof err);
	}
	CHECK(rc == 0, "live pawl-consumer exited with %d: %s", rc, err);
	n_got = read_lines(out, &got);
	CHECK(n_got == 5, "the live consumer wrote %zu events, expected 5", n_got);
	for (size_t i = 0; i < n_got; i++)
		CHECK(got[i] != NULL && in_bucket(got[i], b) &&
			      strcmp(jstr(got[i], "action"), "create") == 0 &&
			      (i == 0 || jint(got[i], "timestamp") > jint(got[i - 1], "timestamp")),
		      "live event %zu: %s", i, got[i] ? json_object_to_json_string(got[i]) : "not JSON");
	jsonl_free(got, n_got);
}

/* --- Redis outage ---------------------------------------------------------------- */

/*
 * Redis down for 200 writes: each succeeds in its usual time; once Redis is
 * back every event arrives, per list in commit order, within the deadline.
 */
static void test_redis_outage(void)
{
	long long ts[OUTAGE_WRITES];
	long max_ms = 0, base_ms = 0, t0, drain_ms;
	char b[64], p[256];
	size_t ok = 0, dups;
	struct events e;
	int up = -1;

	unique_id(b, sizeof b, "ou");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int c = 0; c < 2; c++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d", b, c);
		write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	for (int i = 0; i < 20; i++) { /* the usual time, Redis up */
		long t = harness_now_ms();

		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d/records/warm%d", b, i % 2, i);
		write_ok("PUT", p, "{\"data\":{}}", 201);
		if (harness_now_ms() - t > base_ms)
			base_ms = harness_now_ms() - t;
	}
	CHECK(events_wait(EVENTS_LIST, in_bucket, b, 23, DELIVERY_MS, &e) == 23,
	      "%zu events before the outage, expected 23", e.n);
	events_free(&e);

	CU_ASSERT_FATAL(harness_stack("redis-stop") == 0);
	for (int i = 0; i < OUTAGE_WRITES; i++) {
		struct http_resp r;
		long t = harness_now_ms(), took;

		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d/records/r%d", b, i % 2, i);
		ts[i] = write_at("PUT", p, "{\"data\":{}}", true, 201, &r, __FILE__, __LINE__);
		took = harness_now_ms() - t;
		ok += r.status == 201;
		max_ms = took > max_ms ? took : max_ms;
		http_resp_free(&r);
	}
	CHECK(ok == OUTAGE_WRITES, "%zu of %d writes succeeded with Redis down", ok, OUTAGE_WRITES);
	CHECK(max_ms < OUTAGE_MAX_WRITE_MS, "slowest write with Redis down: %ld ms (Redis up: %ld ms)",
	      max_ms, base_ms);
	CHECK(heartbeat("redis", &up) == 503 && up == 0, "heartbeat with Redis down: redis %d", up);

	CU_ASSERT_FATAL(harness_stack("redis-start") == 0);
	t0 = harness_now_ms();
	events_wait(EVENTS_LIST, in_bucket, b, OUTAGE_WRITES, 30000, &e);
	drain_ms = harness_now_ms() - t0;
	dups = duplicate_ids(&e);
	CHECK(e.n - dups == OUTAGE_WRITES, "%zu distinct events delivered after the outage, expected %d",
	      e.n - dups, OUTAGE_WRITES);
	/* Per list (collection), the order of the writes; duplicates may only repeat. */
	for (int c = 0; c < 2; c++) {
		int want = c;

		for (size_t i = 0; i < e.n; i++) {
			const char *coll = jstr(e.v[i], "collection_id");

			if (coll == NULL || coll[1] - '0' != c)
				continue;
			if (want < OUTAGE_WRITES && jint(e.v[i], "timestamp") == ts[want])
				want += 2;
		}
		CHECK(want >= OUTAGE_WRITES, "collection c%d: events in commit order up to write %d of %d",
		      c, want, OUTAGE_WRITES);
	}
	printf("\n    Redis outage: %d writes, max latency %ld ms (Redis up: %ld ms), "
	       "%zu events delivered, %zu duplicates, drained in %ld ms\n",
	       OUTAGE_WRITES, max_ms, base_ms, e.n, dups, drain_ms);
	events_free(&e);
	{
		struct http_resp r;

		json_object *box;

		http_request("GET", "/v1/__heartbeat__", NULL, NULL, &r);
		box = resp_json(&r, "outbox");
		CHECK(r.status == 200 && box != NULL && json_object_is_type(box, json_type_boolean) &&
			      json_object_get_boolean(box),
		      "outbox not true after the drain: %s", body_snip(&r));
		http_resp_free(&r);
	}
}

/* --- a worker alone (spawn-fcgi -F): it pushes its own events ------------------ */

#define SOLO_LIST "pawl.test.solo"

/* One POST through FastCGI straight to sock with cgi-fcgi (libfcgi-bin); its output, in out. */
static bool fcgi_post(const char *sock, const char *path, const char *body, char *out, size_t size)
{
	char cl[32], uri[512], auth[600], cmd[16384];
	const char *value;
	FILE *p;
	size_t n;

	snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", strlen(body));
	snprintf(uri, sizeof uri, "REQUEST_URI=%s", path);
	/* The harness header, "Authorization: Basic x", as the CGI variable nginx would pass. */
	value = strchr(events_auth(), ':');
	snprintf(auth, sizeof auth, "HTTP_AUTHORIZATION=%s", value ? value + 1 + strspn(value + 1, " ") : "");
	snprintf(cmd, sizeof cmd, "env -i REQUEST_METHOD=POST '%s' DOCUMENT_URI='%s' QUERY_STRING= "
		 "SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 HTTP_HOST=localhost "
		 "CONTENT_TYPE=application/json %s '%s' cgi-fcgi -bind -connect '%s' <<'EOF'\n%s\nEOF\n",
		 uri, path, cl, auth, sock, body);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return pclose(p) == 0;
}

static void test_worker_alone(void)
{
	char url[1024], secret[256], port[16], ini[4096], sock[4096], b[64], p[256], out[8192];
	const char *redis_port = getenv("PAWL_REDIS_PORT"), *bin = getenv("PAWL_BIN");
	struct events e = { NULL, 0 };
	pid_t pid;
	FILE *f;
	int waited = 0, status;

	CU_ASSERT_FATAL(redis_port != NULL && bin != NULL);
	CHECK(system("command -v cgi-fcgi >/dev/null") == 0, "cgi-fcgi not installed (libfcgi-bin)");
	harness_ini_value("storage_url", url, sizeof url);
	harness_ini_value("userid_hmac_secret", secret, sizeof secret);
	snprintf(port, sizeof port, "%s", redis_port);
	/* Its own listener name and list: the stack's relay neither knows nor takes these rows. */
	state_path(ini, sizeof ini, "solo.ini");
	state_path(sock, sizeof sock, "run/solo.sock");
	f = fopen(ini, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* allow_root: the suite runs as root, and this test is not about privileges. */
	fprintf(f, "[app:main]\nstorage_url = %s\nuserid_hmac_secret = %s\nlog_format = text\n"
		"allow_root = true\n"
		"event_listeners = solo\nevent_listeners.solo.use = redis\n"
		"event_listeners.solo.url = redis://127.0.0.1:%s/0\n"
		"event_listeners.solo.listname = " SOLO_LIST "\n", url, secret, port);
	fclose(f);
	redis_cmd("DEL %s", SOLO_LIST);
	if ((pid = fork()) == 0) {
		char log[4096], listen[4200];
		int fd;

		state_path(log, sizeof log, "log/solo.log");
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		snprintf(listen, sizeof listen, "unix:%s", sock);
		/* Its settings are the file's alone: none of the harness's PAWL_* overrides. */
		execle(bin, bin, "-c", ini, "--listen", listen, (char *)NULL,
		       (char *const[]){ "PATH=/usr/bin:/bin", NULL });
		_exit(127);
	}
	CU_ASSERT_FATAL(pid > 0);
	while (access(sock, F_OK) != 0 && waited < 5000) {
		sleep_ms(50);
		waited += 50;
	}
	unique_id(b, sizeof b, "solo");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records", b);
	CHECK(fcgi_post(sock, p, "{\"data\":{\"alone\":true}}", out, sizeof out) &&
	      strncmp(out, "Status: 201", 11) == 0, "POST to the lone worker: %.200s", out);
	CHECK(events_wait(SOLO_LIST, in_bucket, b, 1, 5000, &e) == 1 &&
	      strcmp(jstr(e.v[0], "action"), "create") == 0 &&
	      strcmp(jstr(e.v[0], "resource_name"), "record") == 0,
	      "the lone worker's event did not reach " SOLO_LIST " (%zu events)", e.n);
	events_free(&e);
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the lone worker did not stop cleanly on SIGTERM");
}

/* --- fault injection: killed between COMMIT and the push ---------------------- */

#ifndef PAWL_FAULT_INJECTION
static void test_fault_skipped(void)
{
	CU_PASS("fault points are not compiled in this build");
}
#else
#define SETTLE_MS_FAULT 1500 /* a relay pass or two: a redelivery would show */

static void test_killed_after_commit(void)
{
	static const char *const paths[FAULT_WRITES] = {
		"/v1/buckets/" FAULT_BUCKET,
		"/v1/buckets/" FAULT_BUCKET "/collections/c",
		"/v1/buckets/" FAULT_BUCKET "/collections/c/records/r1",
		"/v1/buckets/" FAULT_BUCKET "/collections/c/records/r2",
		"/v1/buckets/" FAULT_BUCKET "/collections/c/records/r1",
	};
	static const char *const methods[FAULT_WRITES] = { "PUT", "PUT", "PUT", "PUT", "PATCH" };
	static const char *const actions[FAULT_WRITES] = { "create", "create", "create", "create",
							   "update" };
	size_t kills = log_count("log/pawl.log", "killed by signal 9");
	struct expect x[FAULT_WRITES];
	pid_t kids[64];
	struct events e;
	long waited = 0;

	for (int i = 0; i < FAULT_WRITES; i++)
		expect_set(&x[i], actions[i], paths[i],
			   write_ok(methods[i], paths[i], "{\"data\":{\"f\":1}}",
				    i == 4 ? 200 : 201),
			   false);
	/* Each write's worker died after answering: the relay alone delivers. */
	events_wait(EVENTS_LIST, in_bucket, FAULT_BUCKET, FAULT_WRITES, DELIVERY_MS, &e);
	sleep_ms(SETTLE_MS_FAULT);
	events_free(&e);
	events_fetch(EVENTS_LIST, in_bucket, FAULT_BUCKET, &e);
	CHECK(log_count("log/pawl.log", "killed by signal 9") - kills == FAULT_WRITES,
	      "%zu workers killed by the fault point, expected %d",
	      log_count("log/pawl.log", "killed by signal 9") - kills, FAULT_WRITES);
	CHECK(e.n == FAULT_WRITES, "%zu events after %d workers died between COMMIT and push, "
	      "expected %d, each once", e.n, FAULT_WRITES, FAULT_WRITES);
	for (int i = 0; i < FAULT_WRITES; i++)
		check_payload(events_find(&e, &x[i]), &x[i]);
	/* r1 create, r2 create, r1 update: one list, commit order. */
	for (size_t i = 0, want = 2; i < e.n; i++)
		if (jstr(e.v[i], "record_id") != NULL) {
			CHECK(want < FAULT_WRITES && jint(e.v[i], "timestamp") == x[want].ts,
			      "record event %zu out of commit order", i);
			want++;
		}
	events_free(&e);
	/* Leave the supervisor as it was: every worker respawned. */
	while (children_of(supervisor_pid(), kids, 64) < (size_t)harness_workers() + 1 &&
	       waited < 10000) {
		sleep_ms(100);
		waited += 100;
	}
}

/*
 * The connection to PostgreSQL dies right after the COMMIT was applied: the
 * worker must not answer 503 for a write that was kept (a client would
 * retry a POST and duplicate it). It asks PostgreSQL what became of the
 * transaction and answers the success, with the event sent once.
 */
static void test_commit_answer_lost(void)
{
	static const char *const path = "/v1/buckets/pawlfaultlost";
	size_t before = log_count("log/pawl.log", "did commit");
	struct expect x;
	struct events e;
	long long ts;

	ts = write_ok("PUT", path, "{\"data\":{\"kept\":true}}", 201);
	expect_set(&x, "create", path, ts, false);
	CHECK(log_count("log/pawl.log", "did commit") == before + 1,
	      "the worker did not find out that the COMMIT was applied");
	CHECK(write_ok("GET", path, NULL, 200) == ts, "the answered write is not what is stored");
	events_wait(EVENTS_LIST, in_bucket, "pawlfaultlost", 1, DELIVERY_MS, &e);
	sleep_ms(SETTLE_MS_FAULT);
	events_free(&e);
	events_fetch(EVENTS_LIST, in_bucket, "pawlfaultlost", &e);
	CHECK(e.n == 1, "%zu events for one write whose COMMIT answer was lost", e.n);
	if (e.n == 1)
		check_payload(events_find(&e, &x), &x);
	events_free(&e);
}

/* The connection dies before the COMMIT: 503, and truly nothing was kept. */
static void test_connection_cut_before_commit(void)
{
	static const char *const path = "/v1/buckets/pawlfaultcut";
	struct events e;

	write_ok("PUT", path, "{\"data\":{}}", 503);
	CHECK(log_count("log/pawl.log", "did not commit") >= 1,
	      "the worker did not find out that the transaction was not applied");
	write_ok("GET", path, NULL, WRITE_4XX);
	sleep_ms(SETTLE_MS_FAULT);
	events_fetch(EVENTS_LIST, in_bucket, "pawlfaultcut", &e);
	CHECK(e.n == 0, "%zu events for a write answered 503", e.n);
	events_free(&e);
}
#endif

void test_delivery_register(void)
{
	CU_pSuite s = CU_add_suite("delivery", NULL, NULL);

	CU_add_test(s, "jsonl plugin: lines, impacted, rotation, health", test_jsonl_plugin);
	CU_add_test(s, "example consumer: order, requeue, dedup, live", test_consumer);
	CU_add_test(s, "Redis outage: 200 writes, then every event in order", test_redis_outage);
	CU_add_test(s, "a worker alone (spawn-fcgi -F) pushes its own events", test_worker_alone);
#ifdef PAWL_FAULT_INJECTION
	CU_add_test(s, "worker killed after COMMIT: events delivered once", test_killed_after_commit);
	CU_add_test(s, "COMMIT's answer lost: 201 after asking PostgreSQL, one event",
		    test_commit_answer_lost);
	CU_add_test(s, "connection cut before COMMIT: 503, nothing kept", test_connection_cut_before_commit);
#else
	CU_add_test(s, "worker killed after COMMIT: skipped (configure --enable-fault-injection)",
		    test_fault_skipped);
#endif
}

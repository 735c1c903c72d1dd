/*
 * The catch-up recipe of docs/consumers.md ("Catching up from empty"), end
 * to end: writers keep creating, updating, deleting (one by one, plural,
 * in batches) through nginx while a new consumer
 * (tests/consumer/pawl-stream-consumer --catch-up) notes the stream's
 * position, copies the collection page by page and follows the harness's
 * `catchup` stream (include_data, a small data_max_bytes so that some
 * entries come without data and are read back). Once the writers stopped
 * and the outbox is empty, the consumer's index must equal the server's
 * records (ids, last_modified, data); every entry of the collection after
 * the noted position must have been decided exactly once (applied or
 * skipped as older), and no object may have gone back in time.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "events_util.h"
#include "resource_util.h"

#define STREAM "pawl.test.catchup" /* harness: the `catchup` stream listener */
#define WRITERS 3
#define IDS 50            /* the writers' record ids r0..r49 */
#define WRITE_CAP_MS 60000 /* a writer's bound if the stop file never comes */

/* --- the writers ---------------------------------------------------------- */

static const char *pad(void)
{
	return "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
	       "tempor incididunt ut labore et dolore magna aliqua";
}

/* One random write; false when the answer is not one a concurrent writer may get. */
static bool one_write(const char *b, unsigned *seed, int w)
{
	const char *hdrs[] = { events_auth(), NULL };
	const char *coll = ru_fmt("/v1/buckets/%s/collections/c/records", b);
	int op = (int)(rand_r(seed) % 100), k = (int)(rand_r(seed) % IDS), n = (int)(rand_r(seed) % 20);
	char path[512], body[2048];
	struct http_resp r;
	bool ok;

	snprintf(path, sizeof path, "%s/r%d", coll, k);
	snprintf(body, sizeof body, "{\"data\":{\"n\":%d,\"w\":%d,\"pad\":\"%s\"}}", n, w, pad());
	if (op < 30) {
		http_request("PUT", path, hdrs, body, &r);
	} else if (op < 45) {
		http_request("PATCH", path, hdrs, "{\"data\":{\"patched\":true}}", &r);
	} else if (op < 60) {
		http_request("DELETE", path, hdrs, NULL, &r);
	} else if (op < 70) {
		http_request("POST", coll, hdrs, body, &r);
	} else if (op < 78) {
		snprintf(path, sizeof path, "%s?n=%d", coll, n); /* about one record in twenty */
		http_request("DELETE", path, hdrs, NULL, &r);
	} else {
		snprintf(body, sizeof body, "{\"defaults\":{\"body\":{\"data\":{\"n\":%1$d,\"pad\":\"%2$s\"}}},"
			 "\"requests\":["
			 "{\"method\":\"PUT\",\"path\":\"/buckets/%3$s/collections/c/records/r%4$d\"},"
			 "{\"method\":\"PUT\",\"path\":\"/buckets/%3$s/collections/c/records/r%5$d\"},"
			 "{\"method\":\"PUT\",\"path\":\"/buckets/%3$s/collections/c/records/r%6$d\"},"
			 "{\"method\":\"DELETE\",\"path\":\"/buckets/%3$s/collections/c/records/r%7$d\"},"
			 "{\"method\":\"POST\",\"path\":\"/buckets/%3$s/collections/c/records\"}]}",
			 n, pad(), b, k, (k + 1) % IDS, (k + 2) % IDS, (k + 7) % IDS);
		http_request("POST", "/v1/batch", hdrs, body, &r);
	}
	ok = r.status == 200 || r.status == 201 || r.status == 404 || r.status == 409;
	if (!ok)
		fprintf(stderr, "catchup writer %d: %s answered %ld %s\n", w, r.what, r.status,
			body_snip(&r));
	http_resp_free(&r);
	return ok;
}

/* A child that writes until the stop file exists; exits 0 when every answer was expected. */
static pid_t writer_start(const char *b, const char *stop_file, int w)
{
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		unsigned seed = (unsigned)getpid() * 2654435761u;
		long until = harness_now_ms() + WRITE_CAP_MS, writes = 0;
		bool ok = true;

		while (ok && access(stop_file, F_OK) != 0 && harness_now_ms() < until) {
			ok = one_write(b, &seed, w);
			writes++;
		}
		printf("catchup: writer %d made %ld writes\n", w, writes);
		fflush(NULL);
		_exit(ok ? 0 : 1);
	}
	return pid;
}

/* --- the consumer --------------------------------------------------------- */

static pid_t consumer_start(const char *b, const char *group, const char *log, const char *index)
{
	char bin[4096], err[4096], url[1024];
	pid_t pid;

	snprintf(bin, sizeof bin, "%s/tests/consumer/pawl-stream-consumer", getenv("PAWL_BUILDDIR"));
	snprintf(err, sizeof err, "%s/catchup-consumer.err", harness_state_dir());
	snprintf(url, sizeof url, "%s/v1/buckets/%s/collections/c/records", harness_base_url(), b);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || dup2(fd, 2) < 0 ||
		    setenv("PAWL_CONSUMER_USER", "events-user:events-password", 1) != 0)
			_exit(126);
		/* Small pages, each after 40 ms: the copy spans many writes. */
		execl(bin, bin, "-p", getenv("PAWL_REDIS_PORT"), "-s", STREAM, "-g", group, "-c", "m1",
		      "-o", log, "-d", "40", "--page", "7", "--catch-up", url,
		      "--index", index, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static long long outbox_rows(void)
{
	char out[64] = "";

	if (!harness_psql("SELECT count(*) FROM outbox WHERE listener = 'catchup'", out, sizeof out))
		return -1;
	return atoll(out);
}

/* --- what the server and the consumer hold -------------------------------- */

/* The live records of the collection: id -> the object, every page. */
static json_object *server_records(const char *b)
{
	const char *hdrs[] = { events_auth(), NULL };
	json_object *all = json_object_new_object();
	char path[4096];

	snprintf(path, sizeof path, "/v1/buckets/%s/collections/c/records?_sort=last_modified&_limit=50", b);
	while (path[0] != '\0') {
		struct http_resp r;
		json_object *data;
		const char *next;

		http_request("GET", path, hdrs, NULL, &r);
		assert_status(&r, 200);
		data = resp_json(&r, "data");
		for (size_t i = 0; data != NULL && i < json_object_array_length(data); i++) {
			json_object *o = json_object_array_get_idx(data, i);

			json_object_object_add(all, jstr(o, "id"), json_object_get(o));
		}
		next = r.status == 200 ? resp_header(&r, "Next-Page") : NULL;
		path[0] = '\0';
		if (next != NULL && strstr(next, "/v1/") != NULL)
			snprintf(path, sizeof path, "%s", strstr(next, "/v1/"));
		http_resp_free(&r);
	}
	return all;
}

/* The consumer's index file: id -> {id, last_modified, deleted, data}. */
static json_object *index_read(const char *path)
{
	json_object *all = json_object_new_object();
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	CHECK(f != NULL, "the consumer wrote no index at %s", path);
	while (f != NULL && getline(&line, &cap, f) > 0) {
		json_object *o = json_tokener_parse(line);

		CHECK(jstr(o, "id") != NULL, "index line without id: %s", line);
		if (jstr(o, "id") != NULL)
			json_object_object_add(all, jstr(o, "id"), o);
		else
			json_object_put(o);
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return all;
}

/* Live records equal (id, last_modified, data); returns how many differ. */
static size_t compare(json_object *server, json_object *index)
{
	size_t differ = 0, live = 0;

	json_object_object_foreach(server, id, want) {
		json_object *got = json_object_object_get(index, id);
		json_object *data = got ? json_object_object_get(got, "data") : NULL;

		if (data == NULL || jint(got, "last_modified") != jint(want, "last_modified") ||
		    !json_object_equal(data, want)) {
			if (differ++ < 5)
				CHECK(false, "record %s: server %s, index %s", id,
				      json_object_to_json_string(want),
				      got ? json_object_to_json_string(got) : "(absent)");
		}
	}
	json_object_object_foreach(index, id2, got2) {
		bool dead = json_object_get_boolean(json_object_object_get(got2, "deleted"));

		live += !dead;
		if (!dead && json_object_object_get(server, id2) == NULL && differ++ < 5)
			CHECK(false, "record %s is live in the index, absent from the server", id2);
	}
	CHECK(live == (size_t)json_object_object_length(server),
	      "the index holds %zu live records, the server %d", live,
	      json_object_object_length(server));
	return differ;
}

/* --- the consumer's decisions against the stream -------------------------- */

struct decisions {
	char position[64];
	json_object *seen;   /* "entry id last_modified" -> how many apply/skip lines */
	long applied, skipped, snapshot, bad, regressions;
};

/* Reads the consumer's log; an object applied at or below what it had counts as a regression. */
static void decisions_read(const char *path, struct decisions *d)
{
	json_object *last = json_object_new_object();
	FILE *f = fopen(path, "r");
	char *line = NULL, e[64], id[128];
	size_t cap = 0;
	long long at, stored;

	memset(d, 0, sizeof *d);
	d->seen = json_object_new_object();
	while (f != NULL && getline(&line, &cap, f) > 0) {
		bool apply = sscanf(line, "apply %63s %127s %lld %lld", e, id, &at, &stored) == 4;
		bool skip = !apply && sscanf(line, "skip %63s %127s %lld", e, id, &at) == 3;
		bool snap = sscanf(line, "snapshot %127s %lld", id, &stored) == 2;

		if (sscanf(line, "position %63s", d->position) == 1 || strncmp(line, "bad ", 4) == 0)
			d->bad += line[0] == 'b';
		if (apply || skip) {
			char key[256];
			json_object *n;

			snprintf(key, sizeof key, "%s %s %lld", e, id, at);
			n = json_object_object_get(d->seen, key);
			json_object_object_add(d->seen, key, json_object_new_int64(n ? json_object_get_int64(n) + 1 : 1));
			d->applied += apply;
			d->skipped += skip;
		}
		if (apply || snap) {
			json_object *prev = json_object_object_get(last, id);

			d->regressions += prev != NULL && json_object_get_int64(prev) >= stored;
			d->snapshot += snap;
			json_object_object_add(last, id, json_object_new_int64(stored));
		}
	}
	free(line);
	if (f != NULL)
		fclose(f);
	json_object_put(last);
}

/*
 * Every impacted object of the collection's entries after the noted position
 * must have exactly one decision, and no decision may name another. Returns
 * how many entries were expected.
 */
static long check_every_entry_decided(const char *b, const struct decisions *d)
{
	redisReply *r;
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", atoi(getenv("PAWL_REDIS_PORT")), tv);
	char from[80];
	long want = 0, wrong = 0;

	snprintf(from, sizeof from, strcmp(d->position, "0") == 0 ? "-" : "(%s", d->position);
	r = c && !c->err ? redisCommand(c, "XRANGE %s %s +", STREAM, from) : NULL;
	CU_ASSERT_FATAL(r != NULL && r->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i], *f = e->element[1];
		json_object *ev = NULL, *list;

		for (size_t j = 0; j + 1 < f->elements; j += 2)
			if (strcmp(f->element[j]->str, "event") == 0)
				ev = json_tokener_parse(f->element[j + 1]->str);
		if (ev != NULL && in_bucket(ev, b) && jstr(ev, "collection_id") != NULL &&
		    strcmp(jstr(ev, "resource_name"), "record") == 0 &&
		    json_object_object_get_ex(ev, "impacted", &list)) {
			for (size_t k = 0; k < json_object_array_length(list); k++) {
				json_object *x = json_object_array_get_idx(list, k), *n;
				char key[256];

				if (jstr(x, "id") == NULL) /* the hostile entry */
					continue;
				snprintf(key, sizeof key, "%s %s %lld", e->element[0]->str, jstr(x, "id"),
					 jint(x, "last_modified"));
				want++;
				n = json_object_object_get(d->seen, key);
				if ((n == NULL || json_object_get_int64(n) != 1) && wrong++ < 5)
					CHECK(false, "entry %s decided %lld times", key,
					      n ? (long long)json_object_get_int64(n) : 0LL);
			}
		}
		json_object_put(ev);
	}
	freeReplyObject(r);
	redisFree(c);
	CHECK(d->applied + d->skipped == want, "the consumer decided %ld objects, the stream has %ld "
	      "after %s", d->applied + d->skipped, want, d->position);
	return want;
}

static void wait_for_line(const char *path, const char *prefix)
{
	for (long waited = 0; waited < DELIVERY_MS; waited += 20) {
		FILE *f = fopen(path, "r");
		char *line = NULL;
		size_t cap = 0;
		bool found = false;

		while (f != NULL && !found && getline(&line, &cap, f) > 0)
			found = strncmp(line, prefix, strlen(prefix)) == 0;
		free(line);
		if (f != NULL)
			fclose(f);
		if (found)
			return;
		sleep_ms(20);
	}
	CHECK(false, "%s: no '%s' line", path, prefix);
}

/*
 * The writers stop; once the relay has appended everything (the outbox is
 * empty), SIGTERM makes the consumer take what the stream holds and write
 * its index.
 */
static void stop_and_drain(const char *stop, const pid_t *writers, pid_t consumer)
{
	long long left = -1;
	int st;

	CU_ASSERT_FATAL(close(open(stop, O_WRONLY | O_CREAT, 0644)) == 0);
	for (int w = 0; w < WRITERS; w++) {
		CU_ASSERT_FATAL(waitpid(writers[w], &st, 0) == writers[w]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed (status %d)", w, st);
	}
	for (long waited = 0; waited < DELIVERY_MS && (left = outbox_rows()) != 0; waited += 50)
		sleep_ms(50);
	CU_ASSERT_FATAL(left == 0);
	kill(consumer, SIGTERM);
	CU_ASSERT_FATAL(waitpid(consumer, &st, 0) == consumer);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the consumer failed (status %d)", st);
}

static void test_catch_up_under_writes(void)
{
	char b[64], group[64], stop[512], log[512], index[512], bad[512];
	pid_t writers[WRITERS], consumer;
	json_object *server, *ix;
	struct decisions d;
	long want;

	unique_id(b, sizeof b, "cu");
	unique_id(group, sizeof group, "cug");
	snprintf(stop, sizeof stop, "%s/%s.stop", harness_state_dir(), b);
	snprintf(log, sizeof log, "%s/%s.decisions", harness_state_dir(), b);
	snprintf(index, sizeof index, "%s/%s.index", harness_state_dir(), b);
	write_ok("PUT", ru_fmt("/v1/buckets/%s", b), "{\"data\":{}}", 201);
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c", b), "{\"data\":{}}", 201);
	for (int i = 0; i < IDS; i += 2)
		write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c/records/r%d", b, i),
			 "{\"data\":{\"n\":1}}", 201);

	for (int w = 0; w < WRITERS; w++)
		writers[w] = writer_start(b, stop, w);
	sleep_ms(800);
	consumer = consumer_start(b, group, log, index);
	wait_for_line(log, "position ");
	/* Hostile entries in the stream: not JSON; ours with an impacted object without id. */
	snprintf(bad, sizeof bad, "{\"action\":\"update\",\"resource_name\":\"record\",\"bucket_id\":"
		 "\"%s\",\"collection_id\":\"c\",\"impacted\":[{\"last_modified\":1}]}", b);
	CHECK(redis_cmd("XADD %s * event %s list x", STREAM, "not json") &&
	      redis_cmd("XADD %s * event %s list x", STREAM, bad), "XADD of the hostile entries");
	wait_for_line(log, "following "); /* the copy is done; the writers go on a while */
	sleep_ms(1500);
	stop_and_drain(stop, writers, consumer);

	server = server_records(b);
	ix = index_read(index);
	CHECK(compare(server, ix) == 0, "the index differs from the server");
	decisions_read(log, &d);
	want = check_every_entry_decided(b, &d);
	CHECK(d.regressions == 0, "%ld objects went back in time", d.regressions);
	CHECK(d.bad == 2, "the consumer counted %ld bad entries, 2 were added", d.bad);
	/* The copy and the stream overlapped, and both had work: the test exercised the recipe. */
	CHECK(d.snapshot > 0 && d.applied > 0 && d.skipped > 0,
	      "snapshot %ld applied %ld skipped %ld: no overlap exercised", d.snapshot, d.applied,
	      d.skipped);
	printf("\ncatchup: %d records on the server; snapshot %ld objects, %ld stream objects after "
	       "%s: %ld applied, %ld skipped\n", json_object_object_length(server), d.snapshot, want,
	       d.position, d.applied, d.skipped);
	json_object_put(d.seen);
	json_object_put(server);
	json_object_put(ix);
	redis_cmd("XGROUP DESTROY %s %s", STREAM, group);
}

/* The exit status of pid within ms, or -1 (then it is killed). */
static int exit_within(pid_t pid, long ms)
{
	int st;

	for (long waited = 0; waited < ms; waited += 50) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static bool file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	while (f != NULL && !found && getline(&line, &cap, f) > 0)
		found = strstr(line, needle) != NULL;
	free(line);
	if (f != NULL)
		fclose(f);
	return found;
}

/*
 * A gap the recipe cannot close: entries appended after the noted position
 * and trimmed before the consumer read them (maxlen too small for its lag).
 * The consumer must stop and say so (exit 3), not go on with a stale index.
 */
static void test_trimmed_entries_stop_the_catch_up(void)
{
	char b[64], group[64], log[512], index[512], err[512];
	pid_t consumer;
	long long left = -1;

	unique_id(b, sizeof b, "ct");
	unique_id(group, sizeof group, "ctg");
	snprintf(log, sizeof log, "%s/%s.decisions", harness_state_dir(), b);
	snprintf(index, sizeof index, "%s/%s.index", harness_state_dir(), b);
	snprintf(err, sizeof err, "%s/catchup-consumer.err", harness_state_dir());
	write_ok("PUT", ru_fmt("/v1/buckets/%s", b), "{\"data\":{}}", 201);
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c", b), "{\"data\":{}}", 201);
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c/records/r0", b), "{\"data\":{}}", 201);
	consumer = consumer_start(b, group, log, index);
	wait_for_line(log, "following ");
	CU_ASSERT_FATAL(kill(consumer, SIGSTOP) == 0);
	for (int i = 1; i < 6; i++)
		write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c/records/r%d", b, i),
			 "{\"data\":{}}", 201);
	for (long waited = 0; waited < DELIVERY_MS && (left = outbox_rows()) != 0; waited += 50)
		sleep_ms(50);
	CU_ASSERT_FATAL(left == 0);
	/* As maxlen does: the oldest go, the newest entry stays. */
	CHECK(redis_cmd("XTRIM %s MAXLEN 1", STREAM), "XTRIM");
	kill(consumer, SIGCONT);
	CHECK(exit_within(consumer, 10000) == 3, "the consumer did not stop on the lost entries");
	CHECK(file_has(err, "entries were lost"), "%s does not say the entries were lost", err);
	redis_cmd("XGROUP DESTROY %s %s", STREAM, group);
}

void test_catchup_register(void)
{
	CU_pSuite s = CU_add_suite("catchup", NULL, NULL);

	CU_add_test(s, "a consumer that starts from empty under writes ends with the server's state",
		    test_catch_up_under_writes);
	CU_add_test(s, "entries trimmed before the consumer read them stop the catch-up",
		    test_trimmed_entries_stop_the_catch_up);
}

/*
 * Concurrent clients through the real stack (docs/protocol.md §3: timestamps strictly
 * increasing per list in commit order, never a 409, nothing missed by a
 * client polling _since; Kinto's preconditions under races). Each client is
 * a thread with its own curl handles, released together by a barrier.
 * Threads only record what they saw; the main thread asserts, because CUnit
 * is not thread-safe.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resource_util.h"

#define CLIENTS 8
#define POSTS 50
#define TOTAL (CLIENTS * POSTS)
#define PATCHES 10
#define RACE_ROUNDS 3
#define POLL_DEADLINE_MS 120000

/* --- helpers ---------------------------------------------------------------- */

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* How many of n sorted values repeat the previous one. */
static size_t repeats_ll(long long *v, size_t n)
{
	size_t r = 0;

	qsort(v, n, sizeof *v, cmp_ll);
	for (size_t i = 1; i < n; i++)
		r += v[i] == v[i - 1];
	return r;
}

/*
 * Starts n threads running fn on args[0..n) (stride size); each waits on the
 * barrier its argument names. A thread that cannot be created would leave the
 * others blocked there for ever: abort instead.
 */
static void spawn(pthread_t *th, void *(*fn)(void *), void *args, size_t size, int n)
{
	for (int i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * size) != 0) {
			fprintf(stderr, "test_concurrency: pthread_create failed\n");
			abort();
		}
	}
}

static void join(pthread_t *th, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* One racing request: its status, errno, and the timestamps it reports. */
struct outcome {
	long status;
	long long err_no;
	long long lm;       /* data.last_modified of a 2xx */
	long long existing; /* details.existing.last_modified of a 412 */
	long long writer;   /* data.writer of a 2xx */
};

static void outcome_of(const struct http_resp *r, struct outcome *o)
{
	o->status = r->status;
	o->err_no = ru_int(r->json, "errno");
	o->lm = ru_int(resp_json(r, "data"), "last_modified");
	o->writer = ru_int(resp_json(r, "data"), "writer");
	o->existing = ru_int(resp_json(r, "details.existing"), "last_modified");
}

/* --- 8 clients x 50 POSTs, and a client polling _since meanwhile -------------------- */

struct poster {
	const char *list;
	int n;
	pthread_barrier_t *start;
	long status[POSTS];
	long long lm[POSTS];
	char id[POSTS][40];
};

static void *post_loop(void *arg)
{
	struct poster *c = arg;
	char body[64];

	pthread_barrier_wait(c->start);
	for (int j = 0; j < POSTS; j++) {
		struct http_resp r;
		json_object *id;

		snprintf(body, sizeof body, "{\"data\": {\"w\": %d, \"j\": %d}}", c->n, j);
		ru_req(&r, "POST", c->list, body, NULL, NULL);
		c->status[j] = r.status;
		c->lm[j] = ru_int(resp_json(&r, "data"), "last_modified");
		id = resp_json(&r, "data.id");
		snprintf(c->id[j], sizeof c->id[j], "%s", id ? json_object_get_string(id) : "");
		http_resp_free(&r);
	}
	return NULL;
}

struct poller {
	const char *list;
	long long since;
	atomic_int *writers_done;
	pthread_barrier_t *start;
	char seen[2 * TOTAL][40];
	size_t nseen;
	int polls, errors, backwards, timed_out;
};

/*
 * A sync client: GET ?_since=<newest seen>&_sort=last_modified over and over
 * until the writers are done, then once more. Because every writer had its
 * answer before that last poll started, the last poll sees every commit: an
 * object missed by the polls can only be one that committed after a later
 * timestamp had been served.
 */
static void *poll_loop(void *arg)
{
	struct poller *p = arg;
	char path[RU_PATH_LEN + 64];
	long deadline = harness_now_ms() + POLL_DEADLINE_MS;
	bool last = false;

	pthread_barrier_wait(p->start);
	while (!last) {
		struct http_resp r;
		json_object *data;
		long long top = p->since;

		last = atomic_load(p->writers_done) != 0;
		if (harness_now_ms() > deadline) {
			p->timed_out = 1;
			break;
		}
		snprintf(path, sizeof path, "%s?_sort=last_modified&_since=%lld", p->list,
			 p->since);
		ru_req(&r, "GET", path, NULL, NULL, NULL);
		p->polls++;
		data = resp_json(&r, "data");
		if (r.status != 200 || data == NULL ||
		    !json_object_is_type(data, json_type_array)) {
			p->errors++;
		} else {
			for (size_t i = 0; i < json_object_array_length(data); i++) {
				json_object *o = json_object_array_get_idx(data, i), *id;
				long long lm = ru_int(o, "last_modified");

				p->backwards += lm <= top; /* ascending, all after since */
				top = lm > top ? lm : top;
				if (p->nseen < sizeof p->seen / sizeof p->seen[0] &&
				    json_object_object_get_ex(o, "id", &id))
					snprintf(p->seen[p->nseen++], 40, "%s",
						 json_object_get_string(id));
			}
			p->since = top;
		}
		http_resp_free(&r);
	}
	return NULL;
}

static void test_concurrent_posts(void)
{
	static struct poster c[CLIENTS];
	static struct poller p;
	static char created[TOTAL][40], synced[TOTAL][40];
	static long long lms[TOTAL];
	char list[RU_PATH_LEN];
	pthread_barrier_t start;
	pthread_t th[CLIENTS], pt;
	atomic_int done = 0;
	struct http_resp r;
	long long e0, top = 0;
	size_t n = 0, ok = 0, not_increasing = 0, nsync;

	ru_fresh_list(list);
	ru_req(&r, "GET", list, NULL, NULL, NULL);
	e0 = ru_etag(&r);
	http_resp_free(&r);
	CU_ASSERT_FATAL(e0 > 0);

	memset(c, 0, sizeof c);
	memset(&p, 0, sizeof p);
	CU_ASSERT_FATAL(pthread_barrier_init(&start, NULL, CLIENTS + 1) == 0);
	for (int i = 0; i < CLIENTS; i++) {
		c[i].list = list;
		c[i].n = i;
		c[i].start = &start;
	}
	p.list = list;
	p.since = e0;
	p.writers_done = &done;
	p.start = &start;
	spawn(th, post_loop, c, sizeof c[0], CLIENTS);
	spawn(&pt, poll_loop, &p, sizeof p, 1);
	join(th, CLIENTS);
	atomic_store(&done, 1);
	join(&pt, 1);
	pthread_barrier_destroy(&start);

	for (int i = 0; i < CLIENTS; i++) {
		for (int j = 0; j < POSTS; j++) {
			ok += c[i].status[j] == 201;
			if (j > 0 && c[i].lm[j] <= c[i].lm[j - 1])
				not_increasing++;
			lms[n] = c[i].lm[j];
			top = c[i].lm[j] > top ? c[i].lm[j] : top;
			snprintf(created[n++], 40, "%s", c[i].id[j]);
		}
	}
	CHECK(ok == TOTAL, "%zu of %d concurrent POSTs got 201", ok, TOTAL);
	for (int k = 0; k < TOTAL; k++) {
		const struct poster *w = &c[k / POSTS];

		if (w->status[k % POSTS] != 201) {
			CHECK(false, "first failure: client %d, POST %d: HTTP %ld", k / POSTS,
			      k % POSTS, w->status[k % POSTS]);
			break;
		}
	}
	CHECK(not_increasing == 0, "%zu timestamps did not increase within one client",
	      not_increasing);
	CHECK(repeats_ll(lms, TOTAL) == 0, "%zu timestamps were given twice",
	      repeats_ll(lms, TOTAL));
	CHECK(lms[0] > e0, "a timestamp %lld is not above the list's ETag before the run %lld",
	      lms[0], e0);

	/* _since=<ETag before the run> returns exactly those objects */
	ru_req(&r, "GET", ru_fmt("%s?_since=%%22%lld%%22", list, e0), NULL, NULL, NULL);
	assert_status(&r, 200);
	nsync = ru_len(resp_json(&r, "data"));
	for (size_t i = 0; i < nsync && i < TOTAL; i++) {
		json_object *o = json_object_array_get_idx(resp_json(&r, "data"), i), *id = NULL;

		json_object_object_get_ex(o, "id", &id);
		snprintf(synced[i], 40, "%s", id ? json_object_get_string(id) : "");
	}
	CHECK(ru_etag(&r) == top, "list ETag %lld after the run, newest object %lld", ru_etag(&r),
	      top);
	http_resp_free(&r);
	qsort(created, TOTAL, sizeof created[0], cmp_id);
	qsort(synced, nsync < TOTAL ? nsync : TOTAL, sizeof synced[0], cmp_id);
	CHECK(nsync == TOTAL && memcmp(created, synced, sizeof created) == 0,
	      "_since=<ETag before>: %zu objects, not the %d created", nsync, TOTAL);

	/* the poller missed nothing and saw nothing twice */
	qsort(p.seen, p.nseen, sizeof p.seen[0], cmp_id);
	CHECK(p.errors == 0 && p.timed_out == 0, "poller: %d failed polls, timed out: %d", p.errors,
	      p.timed_out);
	CHECK(p.backwards == 0, "poller: %d objects out of order or not after _since", p.backwards);
	CHECK(p.nseen == TOTAL && memcmp(p.seen, created, sizeof created) == 0,
	      "a client polling _since saw %zu objects in %d polls, not the %d created", p.nseen,
	      p.polls, TOTAL);
}

/* --- races on one object ---------------------------------------------------------------- */

struct racer {
	const char *method;
	const char *path;
	const char *header;
	const char *id; /* data.id of a POST */
	int n;
	pthread_barrier_t *start;
	struct outcome out;
};

static void *race_once(void *arg)
{
	struct racer *c = arg;
	struct http_resp r;
	char body[96];

	if (strcmp(c->method, "POST") == 0)
		snprintf(body, sizeof body, "{\"data\": {\"id\": \"%s\", \"writer\": %d}}", c->id,
			 c->n);
	else
		snprintf(body, sizeof body, "{\"data\": {\"writer\": %d}}", c->n);
	pthread_barrier_wait(c->start);
	ru_req(&r, c->method, c->path, body, c->header, NULL);
	outcome_of(&r, &c->out);
	http_resp_free(&r);
	return NULL;
}

/* Runs CLIENTS racers on one path, released together; their outcomes land in c. */
static void race(struct racer *c, const char *method, const char *path, const char *header,
		 const char *id)
{
	pthread_barrier_t start;
	pthread_t th[CLIENTS];

	CU_ASSERT_FATAL(pthread_barrier_init(&start, NULL, CLIENTS) == 0);
	for (int i = 0; i < CLIENTS; i++)
		c[i] = (struct racer){ method, path, header, id, i, &start, { 0 } };
	spawn(th, race_once, c, sizeof c[0], CLIENTS);
	join(th, CLIENTS);
	pthread_barrier_destroy(&start);
}

static int count_status(const struct racer *c, long status)
{
	int n = 0;

	for (int i = 0; i < CLIENTS; i++)
		n += c[i].out.status == status;
	return n;
}

/* The final object: its writer and timestamp. */
static void current(const char *path, long long *writer, long long *lm)
{
	struct http_resp r;

	ru_req(&r, "GET", path, NULL, NULL, NULL);
	*writer = r.status == 200 ? ru_int(resp_json(&r, "data"), "writer") : -2;
	*lm = r.status == 200 ? ru_int(resp_json(&r, "data"), "last_modified") : -2;
	http_resp_free(&r);
}

static void test_if_match_race(void)
{
	struct racer c[CLIENTS];
	char list[RU_PATH_LEN], item[RU_PATH_LEN + 64], header[64];

	ru_fresh_list(list);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		long long lm, writer, final_lm;
		const struct outcome *win = NULL;

		snprintf(item, sizeof item, "%s/x%d", list, round);
		lm = PUT(item, "{\"writer\": -1}", 201);
		snprintf(header, sizeof header, "If-Match: \"%lld\"", lm);
		race(c, "PUT", item, header, NULL);
		CHECK(
		    count_status(c, 200) == 1 && count_status(c, 412) == CLIENTS - 1,
		    "round %d: %d x 200 and %d x 412 for %d PUTs with one If-Match, expected 1 and %d",
		    round, count_status(c, 200), count_status(c, 412), CLIENTS, CLIENTS - 1);
		for (int i = 0; i < CLIENTS; i++)
			if (c[i].out.status == 200)
				win = &c[i].out;
		current(item, &writer, &final_lm);
		CHECK(win != NULL && writer == win->writer && final_lm == win->lm,
		      "round %d: the object (writer %lld, %lld) is not the 200's", round, writer,
		      final_lm);
		for (int i = 0; i < CLIENTS; i++) {
			if (c[i].out.status != 412)
				continue;
			CHECK(c[i].out.err_no == 114, "412 with errno %lld", c[i].out.err_no);
			CHECK(c[i].out.existing == final_lm,
			      "round %d: a 412's details.existing is at %lld, the winner at %lld",
			      round, c[i].out.existing, final_lm);
		}
	}
}

static void test_create_race(void)
{
	struct racer c[CLIENTS];
	char list[RU_PATH_LEN], item[RU_PATH_LEN + 64], id[16];

	ru_fresh_list(list);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		long long writer, lm, created = -1;

		/* If-None-Match: * -- one creates, the others are told it exists */
		snprintf(item, sizeof item, "%s/inm%d", list, round);
		race(c, "PUT", item, "If-None-Match: *", NULL);
		CHECK(
		    count_status(c, 201) == 1 && count_status(c, 412) == CLIENTS - 1,
		    "round %d: %d x 201 and %d x 412 for %d PUTs with If-None-Match: *, expected 1 "
		    "and %d",
		    round, count_status(c, 201), count_status(c, 412), CLIENTS, CLIENTS - 1);
		current(item, &writer, &lm);
		for (int i = 0; i < CLIENTS; i++)
			if (c[i].out.status == 201)
				CHECK(writer == c[i].out.writer && lm == c[i].out.lm,
				      "round %d: the object is not the 201's", round);

		/* plain PUT: one creates (201), the others replace (200) */
		snprintf(item, sizeof item, "%s/put%d", list, round);
		race(c, "PUT", item, NULL, NULL);
		CHECK(
		    count_status(c, 201) == 1 && count_status(c, 200) == CLIENTS - 1,
		    "round %d: %d x 201 and %d x 200 for %d PUTs creating one id, expected 1 and %d",
		    round, count_status(c, 201), count_status(c, 200), CLIENTS, CLIENTS - 1);
		for (int i = 0; i < CLIENTS; i++)
			if (c[i].out.status == 201)
				created = c[i].out.lm;
		for (int i = 0; i < CLIENTS; i++)
			if (c[i].out.status == 200)
				CHECK(c[i].out.lm > created,
				      "round %d: a replacing PUT (%lld) is not "
				      "after the creating one (%lld)",
				      round, c[i].out.lm, created);
		current(item, &writer, &lm);
		for (int i = 0; i < CLIENTS; i++)
			CHECK(
			    c[i].out.lm <= lm && (c[i].out.lm != lm || c[i].out.writer == writer),
			    "round %d: the stored object (writer %lld at %lld) is not the last PUT's",
			    round, writer, lm);

		/* POST with one data.id: one creates (201), the others get it back (200) */
		snprintf(id, sizeof id, "post%d", round);
		snprintf(item, sizeof item, "%s/%s", list, id);
		race(c, "POST", list, NULL, id);
		CHECK(
		    count_status(c, 201) == 1 && count_status(c, 200) == CLIENTS - 1,
		    "round %d: %d x 201 and %d x 200 for %d POSTs of one data.id, expected 1 and %d",
		    round, count_status(c, 201), count_status(c, 200), CLIENTS, CLIENTS - 1);
		current(item, &writer, &lm);
		for (int i = 0; i < CLIENTS; i++) {
			CHECK(
			    c[i].out.status != 200 || c[i].out.lm == lm,
			    "round %d: a POST answered 200 with another version (%lld, stored %lld)",
			    round, c[i].out.lm, lm);
			CHECK(c[i].out.status != 201 ||
				  (c[i].out.writer == writer && c[i].out.lm == lm),
			      "round %d: a POST of an existing id overwrote the created object "
			      "(created by %lld at %lld, stored: %lld at %lld)",
			      round, c[i].out.writer, c[i].out.lm, writer, lm);
		}
	}
}

/* --- no lost update ------------------------------------------------------------------------ */

struct patcher {
	const char *path;
	int n;
	pthread_barrier_t *start;
	long status[PATCHES];
	long long lm[PATCHES];
};

static void *patch_loop(void *arg)
{
	struct patcher *c = arg;
	char body[64];

	pthread_barrier_wait(c->start);
	for (int j = 0; j < PATCHES; j++) {
		struct http_resp r;

		snprintf(body, sizeof body, "{\"data\": {\"k%d\": %d}}", c->n, j);
		ru_req(&r, "PATCH", c->path, body, NULL, NULL);
		c->status[j] = r.status;
		c->lm[j] = ru_int(resp_json(&r, "data"), "last_modified");
		http_resp_free(&r);
	}
	return NULL;
}

static void test_concurrent_patches(void)
{
	static struct patcher c[CLIENTS];
	long long lms[CLIENTS * PATCHES];
	char list[RU_PATH_LEN], item[RU_PATH_LEN + 64];
	pthread_barrier_t start;
	pthread_t th[CLIENTS];
	struct http_resp r;
	size_t ok = 0, n = 0;

	ru_fresh_list(list);
	snprintf(item, sizeof item, "%s/p", list);
	PUT(item, "{}", 201);
	CU_ASSERT_FATAL(pthread_barrier_init(&start, NULL, CLIENTS) == 0);
	for (int i = 0; i < CLIENTS; i++)
		c[i] = (struct patcher){ item, i, &start, { 0 }, { 0 } };
	spawn(th, patch_loop, c, sizeof c[0], CLIENTS);
	join(th, CLIENTS);
	pthread_barrier_destroy(&start);

	for (int i = 0; i < CLIENTS; i++)
		for (int j = 0; j < PATCHES; j++) {
			ok += c[i].status[j] == 200;
			lms[n++] = c[i].lm[j];
		}
	CHECK(ok == CLIENTS * PATCHES, "%zu of %d concurrent PATCHes got 200", ok,
	      CLIENTS * PATCHES);
	CHECK(repeats_ll(lms, n) == 0, "%zu PATCHes got a timestamp twice", repeats_ll(lms, n));
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	assert_status(&r, 200);
	for (int i = 0; i < CLIENTS; i++) {
		char key[16];

		snprintf(key, sizeof key, "k%d", i);
		CHECK(ru_int(resp_json(&r, "data"), key) == PATCHES - 1,
		      "lost update: %s is %lld, expected %d: %s", key,
		      ru_int(resp_json(&r, "data"), key), PATCHES - 1, body_snip(&r));
	}
	CHECK(ru_etag(&r) == lms[n - 1], "the object's timestamp %lld is not the last PATCH's %lld",
	      ru_etag(&r), lms[n - 1]);
	http_resp_free(&r);
}

/* --- batches that mix creations and updates of one list ----------------------------- */

#define BATCHERS 4
#define BATCHES 15

struct batcher {
	const char *list;
	int n;
	pthread_barrier_t *start;
	int bad; /* batches or sub-requests that did not succeed */
	char why[256];
};

/*
 * Half the clients create then update, the others update then create: two
 * transactions that took one list's locks in opposite orders would deadlock.
 */
static void *batch_loop(void *arg)
{
	struct batcher *c = arg;
	const char *list = c->list + strlen("/v1");
	char body[1024];

	pthread_barrier_wait(c->start);
	for (int j = 0; j < BATCHES; j++) {
		char one[256], two[256];
		struct http_resp r;
		json_object *responses;

		snprintf(one, sizeof one, "{\"method\": \"POST\", \"path\": \"%s\", "
			 "\"body\": {\"data\": {}}}", list);
		snprintf(two, sizeof two, "{\"method\": \"PUT\", \"path\": \"%s/b%d\", "
			 "\"body\": {\"data\": {\"j\": %d}}}", list, c->n, j);
		snprintf(body, sizeof body, "{\"requests\": [%s, %s]}", c->n % 2 ? two : one,
			 c->n % 2 ? one : two);
		ru_req(&r, "POST", "/v1/batch", body, NULL, NULL);
		responses = resp_json(&r, "responses");
		if (r.status != 200 || ru_len(responses) != 2) {
			c->bad++;
			snprintf(c->why, sizeof c->why, "batch: HTTP %ld %s", r.status, body_snip(&r));
		}
		for (size_t k = 0; k < ru_len(responses); k++) {
			long long st = ru_int(json_object_array_get_idx(responses, k), "status");

			if (st < 200 || st > 299) {
				c->bad++;
				snprintf(c->why, sizeof c->why, "sub-request %zu: %lld", k, st);
			}
		}
		http_resp_free(&r);
	}
	return NULL;
}

static void test_concurrent_batches(void)
{
	static struct batcher c[BATCHERS];
	char list[RU_PATH_LEN];
	pthread_barrier_t start;
	pthread_t th[BATCHERS];
	int bad = 0;

	ru_fresh_list(list);
	CU_ASSERT_FATAL(pthread_barrier_init(&start, NULL, BATCHERS) == 0);
	for (int i = 0; i < BATCHERS; i++)
		c[i] = (struct batcher){ list, i, &start, 0, "" };
	spawn(th, batch_loop, c, sizeof c[0], BATCHERS);
	join(th, BATCHERS);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < BATCHERS; i++) {
		bad += c[i].bad;
		CHECK(c[i].bad == 0, "client %d: %d failures, last: %s", i, c[i].bad, c[i].why);
	}
	CHECK(bad == 0, "%d failures in %d concurrent batches", bad, BATCHERS * BATCHES);
}

/* --- registration --------------------------------------------------------------------- */

static int suite_init(void)
{
	ru_login("concurrency-user", "concurrency-password");
	return 0;
}

void test_concurrency_register(void);

void test_concurrency_register(void)
{
	CU_pSuite s = CU_add_suite("concurrency", suite_init, NULL);

	CU_add_test(s, "4 clients x 15 batches creating and updating one list: no deadlock",
	    test_concurrent_batches);
	CU_add_test(s, "8 clients x 50 POSTs: distinct, increasing, none missed by _since",
		    test_concurrent_posts);
	CU_add_test(s, "8 PUTs with one If-Match: one 200, seven 412", test_if_match_race);
	CU_add_test(s, "8 clients creating one id: one 201", test_create_race);
	CU_add_test(s, "8 clients x 10 PATCHes of one object: no lost update",
		    test_concurrent_patches);
}

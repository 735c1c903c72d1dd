/*
 * A consumer written from docs/consumers.md alone: an index of every record
 * of a bucket, kept from the Redis events. Events are triggers, `_since` is
 * the truth: each event names a list (its URI, or its item's list), and the
 * indexer asks that list for what changed since the last timestamp it saw
 * there, tombstones included; a delete that cascades makes it ask again
 * every list it knows under that URI (one that is gone drops what it held;
 * one made again answers with its tombstones). After a mixed workload (PUT, PATCH, DELETE, POSTs that name only
 * their list, a batch, a plural DELETE, a collection deleted and re-created)
 * with a worker killed, Redis stalled and the indexer restarted (it handles
 * some events twice), the index must equal what the server lists.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_util.h"
#include "resource_util.h"

#define MAX_ENTRIES 512
#define MAX_LISTS 16

struct entry {
	char uri[256];
	long long last_modified;
};

struct index {
	struct entry e[MAX_ENTRIES];
	size_t n;
	struct {
		char list[256];
		long long since; /* the newest timestamp read from that list */
	} lists[MAX_LISTS];
	size_t n_lists;
};

static long long *since_of(struct index *ix, const char *list)
{
	for (size_t i = 0; i < ix->n_lists; i++)
		if (strcmp(ix->lists[i].list, list) == 0)
			return &ix->lists[i].since;
	if (ix->n_lists == MAX_LISTS)
		return NULL;
	snprintf(ix->lists[ix->n_lists].list, sizeof ix->lists[0].list, "%s", list);
	ix->lists[ix->n_lists].since = 0;
	return &ix->lists[ix->n_lists++].since;
}

static void put_entry(struct index *ix, const char *uri, long long lm, bool deleted)
{
	size_t i;

	for (i = 0; i < ix->n && strcmp(ix->e[i].uri, uri) != 0; i++)
		;
	if (deleted) {
		if (i < ix->n)
			ix->e[i] = ix->e[--ix->n];
		return;
	}
	if (i == ix->n && ix->n < MAX_ENTRIES)
		snprintf(ix->e[ix->n++].uri, sizeof ix->e[0].uri, "%s", uri);
	if (i < ix->n)
		ix->e[i].last_modified = lm;
}

/* Every page of GET list?_since=since (tombstones included); false if it is not readable. */
static bool changes_since(struct index *ix, const char *list)
{
	const char *hdrs[] = { events_auth(), NULL };
	long long *since = since_of(ix, list);
	char path[1024];
	bool ok = true;

	CU_ASSERT_FATAL(since != NULL);
	snprintf(path, sizeof path, "/v1%s?_since=%lld&_sort=last_modified&_limit=7", list, *since);
	while (ok && path[0] != '\0') {
		struct http_resp r;
		json_object *data;
		const char *next;

		http_request("GET", path, hdrs, NULL, &r);
		ok = r.status == 200 && (data = resp_json(&r, "data")) != NULL;
		for (size_t i = 0; ok && i < json_object_array_length(data); i++) {
			json_object *o = json_object_array_get_idx(data, i);
			char uri[256];

			snprintf(uri, sizeof uri, "%s/%s", list, jstr(o, "id"));
			put_entry(ix, uri, jint(o, "last_modified"),
				  json_object_get_boolean(json_object_object_get(o, "deleted")));
			if (jint(o, "last_modified") > *since)
				*since = jint(o, "last_modified");
		}
		next = ok ? resp_header(&r, "Next-Page") : NULL;
		path[0] = '\0';
		if (next != NULL && strstr(next, "/v1/") != NULL)
			snprintf(path, sizeof path, "%s", strstr(next, "/v1/"));
		http_resp_free(&r);
	}
	return ok;
}

/* Drops what the index holds under prefix + "/". */
static void drop_under(struct index *ix, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = ix->n; i-- > 0;)
		if (strncmp(ix->e[i].uri, prefix, n) == 0 && ix->e[i].uri[n] == '/')
			ix->e[i] = ix->e[--ix->n];
}

/*
 * A delete that removed children: every list the index knows under it is
 * asked again. Gone (403, 404): what it held goes. Made again since (the
 * event may be handled late): its tombstones say what went, and the rest is
 * what lives there now.
 */
static void cascade(struct index *ix, const char *uri)
{
	size_t n = strlen(uri);

	for (size_t i = 0; i < ix->n_lists; i++)
		if (strncmp(ix->lists[i].list, uri, n) == 0 && ix->lists[i].list[n] == '/' &&
		    !changes_since(ix, ix->lists[i].list))
			drop_under(ix, ix->lists[i].list);
}

/* One event, as the guide says to handle it. */
static void handle(struct index *ix, json_object *ev)
{
	const char *uri = jstr(ev, "uri"), *res = jstr(ev, "resource_name");
	char list[256];

	if (uri == NULL || res == NULL)
		return;
	if (json_object_object_get(ev, "cascade") != NULL)
		cascade(ix, uri);
	if (strcmp(res, "record") != 0)
		return;
	snprintf(list, sizeof list, "%s", uri);
	if (jstr(ev, "record_id") != NULL) /* an item's URI: its list is the parent */
		*strrchr(list, '/') = '\0';
	changes_since(ix, list);
}

/* The server's live records of the bucket's collections, in the index's shape. */
static void server_state(const char *b, const char *const *colls, size_t n, struct index *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++)
		CHECK(changes_since(out, ru_fmt("/buckets/%s/collections/%s/records", b, colls[i])),
		      "cannot list %s", colls[i]);
}

static void stall_redis(long ms)
{
	pid_t pid = harness_pid_file("run/redis.pid");

	if (!stop_process(pid))
		return;
	sleep_ms(ms);
	kill(pid, SIGCONT);
}

static void test_index_equals_server(void)
{
	static const char *const colls[] = { "c0", "c1" };
	static struct index ix, want;
	char b[64], p[256], body[2048];
	const char *hdrs[] = { events_auth(), NULL };
	struct http_resp r;
	struct events e;
	size_t mid;

	unique_id(b, sizeof b, "ix");
	write_ok("PUT", ru_fmt("/v1/buckets/%s", b), "{\"data\":{}}", 201);
	for (int c = 0; c < 2; c++)
		write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c%d", b, c), "{\"data\":{}}", 201);
	for (int i = 0; i < 10; i++)
		write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c%d/records/r%d", b, i % 2, i),
			 "{\"data\":{\"n\":1}}", 201);
	for (int i = 0; i < 4; i++) /* POST: the event names the list, not the record */
		write_ok("POST", ru_fmt("/v1/buckets/%s/collections/c1/records", b),
			 "{\"data\":{\"posted\":true}}", 201);
	write_ok("PATCH", ru_fmt("/v1/buckets/%s/collections/c0/records/r0", b),
		 "{\"data\":{\"n\":2}}", 200);
	kill_a_worker();
	write_ok("DELETE", ru_fmt("/v1/buckets/%s/collections/c0/records/r2", b), NULL, 200);
	snprintf(body, sizeof body, "{\"defaults\":{\"body\":{\"data\":{}}},\"requests\":["
		 "{\"method\":\"PUT\",\"path\":\"/buckets/%1$s/collections/c0/records/x1\"},"
		 "{\"method\":\"PUT\",\"path\":\"/buckets/%1$s/collections/c0/records/x2\"},"
		 "{\"method\":\"POST\",\"path\":\"/buckets/%1$s/collections/c1/records\"},"
		 "{\"method\":\"PATCH\",\"path\":\"/buckets/%1$s/collections/c1/records/r3\","
		 "\"body\":{\"data\":{\"n\":3}}}]}", b);
	http_request("POST", "/v1/batch", hdrs, body, &r);
	assert_status(&r, 200);
	http_resp_free(&r);
	stall_redis(1500);
	/* A plural DELETE with a filter: the events name the records it removed. */
	write_ok("DELETE", ru_fmt("/v1/buckets/%s/collections/c1/records?n=1", b), NULL, 200);
	/* c0 deleted (a cascade) and re-created, then written again. */
	write_ok("DELETE", ru_fmt("/v1/buckets/%s/collections/c0", b), NULL, 200);
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c0", b), "{\"data\":{}}", 201);
	for (int i = 20; i < 23; i++)
		write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/c0/records/r%d", b, i),
			 "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "%s", b);
	events_wait(EVENTS_LIST, in_bucket, p, 25, DELIVERY_MS, &e);
	events_free(&e);
	sleep_ms(1000); /* the last pushes */
	CU_ASSERT_FATAL(events_fetch(EVENTS_LIST, in_bucket, p, &e));

	/* The indexer: half the events, a restart that handles the last three again, the rest. */
	memset(&ix, 0, sizeof ix);
	mid = e.n / 2;
	for (size_t i = 0; i < mid; i++)
		handle(&ix, e.v[i]);
	for (size_t i = mid >= 3 ? mid - 3 : 0; i < e.n; i++)
		handle(&ix, e.v[i]);
	events_free(&e);

	server_state(b, colls, 2, &want);
	CHECK(ix.n == want.n, "the index holds %zu records, the server %zu", ix.n, want.n);
	for (size_t i = 0; i < want.n; i++) {
		bool same = false;

		for (size_t j = 0; j < ix.n; j++)
			same = same || (strcmp(ix.e[j].uri, want.e[i].uri) == 0 &&
					ix.e[j].last_modified == want.e[i].last_modified);
		CHECK(same, "%s (last_modified %lld) missing or stale in the index", want.e[i].uri,
		      want.e[i].last_modified);
	}
	/* c1: r3 and the five POSTed (four plain, one in the batch); c0 re-created: three. */
	CHECK(want.n == 9, "the workload left %zu records, expected 9", want.n);
}

void test_indexer_register(void)
{
	CU_pSuite s = CU_add_suite("indexer", NULL, NULL);

	CU_add_test(s, "an index kept from events and _since equals the server's state",
		    test_index_equals_server);
}

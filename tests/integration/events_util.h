/*
 * Helpers of the notification suites (test_events.c, test_delivery.c): the
 * stack's Redis read with hiredis, event lists parsed with json-c, writes
 * that return the timestamp they produced, and the exact-payload check of
 * docs/protocol.md §8. Black-box, like the rest of the harness.
 */
#ifndef PAWL_TEST_EVENTS_UTIL_H
#define PAWL_TEST_EVENTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "harness.h"

#define EVENTS_LIST "pawl.events"         /* pawl-stack's `redis` listener */
#define CREATES_LIST "pawl.test.creates"  /* harness: create of bucket, collection */
#define RECORDS_LIST "pawl.test.records"  /* harness: update, delete of record */
#define DELIVERY_MS 15000                 /* an event's deadline to reach Redis */

/* A Redis list's events, oldest (first pushed) first; each a parsed payload. */
struct events {
	json_object **v;
	size_t n;
};

typedef bool event_keep_fn(json_object *ev, const void *arg);

/* Events whose bucket_id is arg (a string). */
bool in_bucket(json_object *ev, const void *arg);

/*
 * Reads list (LRANGE) into out, keeping the events keep accepts (all when
 * NULL). Items that are not JSON objects are kept as NULL entries so a test
 * sees them. Returns false (out empty) when Redis cannot be read.
 */
bool events_fetch(const char *list, event_keep_fn *keep, const void *arg, struct events *out);

/* Polls until at least want events are kept or timeout_ms passed; returns the count. */
size_t events_wait(const char *list, event_keep_fn *keep, const void *arg, size_t want,
		   long timeout_ms, struct events *out);

void events_free(struct events *e);

/* The number of items of a Redis list (-1 on failure), and a raw Redis command. */
long long redis_llen(const char *list);
bool redis_cmd(const char *fmt, ...);

/* The string at key of o (NULL if absent or not a string); an int member or -1. */
const char *jstr(json_object *o, const char *key);
long long jint(json_object *o, const char *key);

/* How many event_ids of e repeat an earlier one. */
size_t duplicate_ids(const struct events *e);

/* Authorization header of the suites' user, and that user's id from GET /v1/. */
const char *events_auth(void);
const char *events_user_id(void);

#define WRITE_4XX 4 /* as the status of write_at: any 4xx */

/*
 * Sends a write and checks its status; returns the timestamp it produced:
 * data.last_modified, or the ETag for a list DELETE; -1 when absent.
 * auth false: anonymous. r (optional) keeps the response.
 */
long long write_at(const char *method, const char *path, const char *body, bool auth,
		   long status, struct http_resp *r, const char *file, unsigned line);
#define write_ok(m, p, b, s) write_at((m), (p), (b), true, (s), NULL, __FILE__, __LINE__)

/* What the payload of a write must be: every key and value (docs/protocol.md §8). */
struct expect {
	const char *action;
	char uri[256];      /* the request path without /v1 and query string */
	long long ts;
	bool anonymous;     /* user_id null, else events_user_id() */
};

/* Fills x from a request path ("/v1/buckets/b?x" → uri "/buckets/b"). */
void expect_set(struct expect *x, const char *action, const char *path, long long ts,
		bool anonymous);

/* The event of e matching x's action, uri and timestamp; else the only one matching
 * action and uri (so a wrong timestamp is reported as such); else NULL. */
json_object *events_find(const struct events *e, const struct expect *x);

/* Checks ev's key set and each value against x; the uri names the matchdict. */
void check_payload_at(json_object *ev, const struct expect *x, const char *file, unsigned line);
#define check_payload(ev, x) check_payload_at((ev), (x), __FILE__, __LINE__)

/* kill -9 of one of the supervisor's children between writes; waits for its successor. */
void kill_a_worker(void);

/* Whether pawl.log now holds count lines containing needle (for fault points). */
size_t log_count(const char *relative, const char *needle);

#endif

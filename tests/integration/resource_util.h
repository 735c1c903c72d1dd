/*
 * Helpers of the resource suites (test_objects.c, test_preconditions.c,
 * test_lists.c, test_pagination.c, test_concurrency.c): requests as one
 * suite user, JSON accessors, checks of timestamps and bodies that report
 * at the caller's line, id lists, and a config reload through SIGHUP for
 * settings the stack does not set. Black-box, like the rest of the harness.
 */
#ifndef PAWL_TEST_RESOURCE_UTIL_H
#define PAWL_TEST_RESOURCE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "harness.h"

#define RU_ID_LEN 64     /* buckets made by ru_fresh_*() */
#define RU_PATH_LEN 1024 /* list paths made by ru_fresh_list() */

/* The Authorization header every ru_ request sends (set once per suite). */
void ru_login(const char *user, const char *password);
const char *ru_auth(void);

/*
 * A printf-formatted string in a ring of 16 static buffers: valid for the
 * next 15 calls. Main thread only; copy what must live longer.
 */
const char *ru_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

#define SET(buf, s) snprintf((buf), sizeof(buf), "%s", (s))

/* A request as the suite's user plus up to two headers (NULL: none). Thread-safe. */
void ru_req(struct http_resp *r, const char *method, const char *path, const char *body,
	    const char *h1, const char *h2);

/* The int member key of o (-1 if absent or not an int), a string one (or NULL). */
long long ru_int(json_object *o, const char *key);
const char *ru_str(json_object *o, const char *key);
size_t ru_len(json_object *array);   /* 0 unless an array */
size_t ru_keys(json_object *object); /* 0 unless an object */

/* The ETag's value; -1 when absent, -2 when it is not "<digits>" in quotes. */
long long ru_etag(const struct http_resp *r);

/* The "location" of the first entry of a validation error's details, or NULL. */
const char *ru_detail_location(const struct http_resp *r);

/*
 * Checks of one response, reported at file:line.
 * check_ts: an item response: integer data.last_modified, ETag is it in
 * quotes, Last-Modified the same second. Returns data.last_modified.
 * check_data: data without id and last_modified equals the JSON text want.
 * check_exact: got equals the JSON text want (what names it in messages).
 * check_details: the error's details equal the JSON text want.
 */
long long ru_check_ts_at(const struct http_resp *r, const char *file, unsigned line);
void ru_check_data_at(const struct http_resp *r, const char *want, const char *file, unsigned line);
void ru_check_exact_at(json_object *got, const char *want, const char *what, const char *file,
		       unsigned line);
#define check_ts(r) ru_check_ts_at((r), __FILE__, __LINE__)
#define check_data(r, w) ru_check_data_at((r), (w), __FILE__, __LINE__)
#define check_exact(g, w, what) ru_check_exact_at((g), (w), (what), __FILE__, __LINE__)
#define check_details(r, w) \
	ru_check_exact_at(resp_json((r), "details"), (w), "details", __FILE__, __LINE__)

/* method path [body] [header] gets the error document status/err_no. */
void ru_expect_error_at(const char *method, const char *path, const char *body, const char *h1,
			long status, int err_no, const char *file, unsigned line);
#define EXPECT_ERROR(m, p, b, h, s, e) \
	ru_expect_error_at((m), (p), (b), (h), (s), (e), __FILE__, __LINE__)

/*
 * PUT path {"data": data} or POST list {"data": data}; the status must be
 * want (201 for POST). Return the object's last_modified (-1 if none); POST
 * copies the new id into id when it is not NULL.
 */
long long ru_put_at(const char *path, const char *data, long want, const char *file, unsigned line);
long long ru_post_at(const char *list, const char *data, char *id, size_t size, const char *file,
		     unsigned line);
#define PUT(p, d, s) ru_put_at((p), (d), (s), __FILE__, __LINE__)
#define POST(l, d) ru_post_at((l), (d), NULL, 0, __FILE__, __LINE__)
#define POST_ID(l, d, id) ru_post_at((l), (d), (id), sizeof(id), __FILE__, __LINE__)

/* Kinto's URLs under /v1, formatted with ru_fmt (same lifetime). */
const char *ru_bucket(const char *b);
const char *ru_collection(const char *b, const char *c);
const char *ru_records(const char *b, const char *c);
const char *ru_record(const char *b, const char *c, const char *id);

/* A new bucket (id into bucket, RU_ID_LEN) with a collection "c". */
void ru_fresh_collection(char *bucket);
/* The same, giving the records list path of c (RU_PATH_LEN). */
void ru_fresh_list(char *list);

/* GET path: data.last_modified on 200, else minus the status (-404...). */
long long ru_get_lm(const char *path);
/* GET path is a 404 (errno 110 or 111) or a 403 (errno 121) error. */
bool ru_gone(const char *path);
/* HEAD list: Total-Objects, -1 when absent. */
long ru_total(const char *list);
/* GET or HEAD list: its ETag, minus the status on an error. */
long long ru_list_etag(const char *method, const char *path);

/*
 * The ids of a list response, comma-separated, in order or sorted; a
 * "<HTTP ...>" text when the response is not a 200 list. Ring of 4 buffers.
 */
const char *ru_ids_csv(const struct http_resp *r, bool sorted);
void ru_expect_ids_at(const char *path, const char *want, bool sorted, const char *file,
		      unsigned line);
#define EXPECT_SET(p, w) ru_expect_ids_at((p), (w), true, __FILE__, __LINE__)
#define EXPECT_ORDER(p, w) ru_expect_ids_at((p), (w), false, __FILE__, __LINE__)

/* A growing list of ids (strings it owns). */
struct ru_ids {
	char **v;
	size_t n, cap;
};

void ru_ids_add(struct ru_ids *s, const char *id);
/* Appends the ids of r's data; counts tombstones into *deleted when not NULL. */
void ru_ids_take(struct ru_ids *s, const struct http_resp *r, size_t *deleted);
void ru_ids_sort(struct ru_ids *s);
size_t ru_ids_duplicates(const struct ru_ids *s);
bool ru_ids_equal(const struct ru_ids *a, const struct ru_ids *b);
void ru_ids_free(struct ru_ids *s);

/*
 * Rewrites the stack's pawl.ini as it was at the first call plus extra
 * (NULL: as it was), sends SIGHUP to the supervisor and waits until every
 * process it had is gone, so that every worker runs the new settings.
 * Returns false if that did not happen within 20 s (a refused config keeps
 * the old workers).
 */
bool ru_reload(const char *extra);
/* The same with the first occurrence of from in the original pawl.ini replaced by to. */
bool ru_reload_edit(const char *from, const char *to);
/* Restores the original pawl.ini if ru_reload changed it; false on failure. */
bool ru_reload_restore(void);

#endif

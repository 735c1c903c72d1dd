/*
 * Hostile input that used to be stored and could not be read back, or was
 * silently altered: numbers PostgreSQL prints as integers pawl cannot hold,
 * nesting built up by JSON Patch, NUL characters and lone UTF-16 surrogates.
 * Every value accepted must come back through GET, lists (with Next-Page),
 * PATCH and _fields; every refusal is 400 errno 107 naming the field, and a
 * stored object that does not parse is a logged 500, never a shorter page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "resource_util.h"

#define JSON_PATCH "Content-Type: application/json-patch+json"
#define MERGE_PATCH "Content-Type: application/merge-patch+json"
#define DEPTH 64 /* max_json_depth: the stack runs with the default */

static int suite_init(void)
{
	ru_login("input-user", "input-password");
	return 0;
}

/* Whether $STATE/log/pawl.log contains needle. */
static bool log_has(const char *needle)
{
	char path[4096], line[8192];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof path, "%s/log/pawl.log", harness_state_dir());
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* A 400 errno 107 whose first detail names want (NULL: any name). */
static void expect_invalid_at(const char *method, const char *path, const char *body,
			      const char *h1, const char *want, const char *file, unsigned line)
{
	struct http_resp r;
	json_object *details, *first, *name;

	ru_req(&r, method, path, body, h1, NULL);
	assert_error_at(&r, 400, 107, file, line);
	details = resp_json(&r, "details");
	first = json_object_is_type(details, json_type_array) ? json_object_array_get_idx(details, 0)
							      : NULL;
	if (want != NULL && r.status == 400) {
		const char *got = first != NULL && json_object_object_get_ex(first, "name", &name) ?
					  json_object_get_string(name) : NULL;
		bool named = got != NULL && strcmp(got, want) == 0;

		check_at(named, file, line, "%s %s: details %s, want name %s", method, path,
			 details ? json_object_to_json_string(details) : "none", want);
	}
	http_resp_free(&r);
}

#define EXPECT_INVALID(m, p, b, h, name) expect_invalid_at((m), (p), (b), (h), (name), __FILE__, __LINE__)

/* The value of data.n of GET path as text, "" when absent; the status into *status. */
static const char *get_n(const char *path, long *status)
{
	static char out[2048];
	struct http_resp r;
	json_object *n;

	ru_req(&r, "GET", path, NULL, NULL, NULL);
	*status = r.status;
	n = resp_json(&r, "data.n");
	snprintf(out, sizeof out, "%s", n ? json_object_to_json_string(n) : "");
	http_resp_free(&r);
	return out;
}

/*
 * Each number is either refused up front with 400, or stored and read back
 * through GET, PATCH and a list paged one object at a time.
 */
static void test_numbers_round_trip(void)
{
	static const struct {
		const char *text;
		double value; /* what must be read back; 0 with refused */
		bool refused;
	} cases[] = {
		{ "2e19", 0, true },
		{ "1e300", 0, true },
		{ "-1e300", 0, true },
		{ "2.0E+19", 0, true },
		{ "-1e19", 0, true },
		{ "123456789012345678901234567890", 0, true },
		{ "1.2345678901234567890123e22", 0, true },
		{ "1e1001", 0, true },
		{ "1e-300", 1e-300, false },
		{ "1.5e-300", 1.5e-300, false },
		{ "1e19", 1e19, false },
		{ "9007199254740993", 9007199254740993.0, false },
		{ "0.1", 0.1, false },
		{ "1e5", 1e5, false },
		{ "-5", -5, false },
		{ "3.14", 3.14, false },
	};
	char list[RU_PATH_LEN];
	size_t i, stored = 0, seen = 0, pages = 0;
	struct http_resp r;
	long status;
	const char *next;

	ru_fresh_list(list);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *item = ru_fmt("%s/n%zu", list, i);
		const char *body = ru_fmt("{\"data\":{\"n\":%s}}", cases[i].text);
		const char *got;

		if (cases[i].refused) {
			EXPECT_INVALID("PUT", item, body, NULL, "data.n");
			EXPECT_INVALID("POST", list, body, NULL, "data.n");
			CHECK(ru_gone(item), "%s stored after a 400", cases[i].text);
			continue;
		}
		PUT(item, ru_fmt("{\"n\":%s}", cases[i].text), 201);
		stored++;
		got = get_n(item, &status);
		CHECK(status == 200 && got[0] != '\0' && strtod(got, NULL) == cases[i].value,
		      "%s read back as %ld %s", cases[i].text, status, got);
		/* 9007199254740993 is not a double: it must come back exactly. */
		if (strcmp(cases[i].text, "9007199254740993") == 0)
			CHECK(strcmp(got, "9007199254740993") == 0, "read back as %s", got);
		ru_req(&r, "PATCH", item, "{\"data\":{\"m\":1}}", NULL, NULL);
		assert_status(&r, 200);
		http_resp_free(&r);
		got = get_n(ru_fmt("%s?_fields=n", item), &status);
		CHECK(status == 200 && strtod(got, NULL) == cases[i].value, "_fields: %ld %s", status, got);
	}
	/* The list, one object a page: every page but the last has Next-Page. */
	next = ru_fmt("%s?_limit=1", list);
	while (next != NULL && pages++ < 40) {
		const char *link;

		ru_req(&r, "GET", next, NULL, NULL, NULL);
		assert_status(&r, 200);
		seen += ru_len(resp_json(&r, "data"));
		link = resp_header(&r, "Next-Page");
		next = link ? ru_fmt("%s", strstr(link, "/v1/")) : NULL;
		http_resp_free(&r);
	}
	CHECK(seen == stored, "the list served %zu of %zu objects", seen, stored);
}

/* The same numbers through every other way of writing a value. */
static void test_numbers_every_path(void)
{
	static const char *const bad[] = { "2e19", "1e300", "-1e300" };
	char list[RU_PATH_LEN], item[RU_PATH_LEN + 8];
	const char *batch, *got;
	struct http_resp r;
	long status;
	size_t i;

	ru_fresh_list(list);
	snprintf(item, sizeof item, "%s/r1", list);
	PUT(item, "{\"n\":1}", 201);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_INVALID("PATCH", item, ru_fmt("{\"data\":{\"n\":%s}}", bad[i]), NULL, "data.n");
		EXPECT_INVALID("PATCH", item, ru_fmt("{\"data\":{\"n\":%s}}", bad[i]), MERGE_PATCH, "data.n");
		EXPECT_INVALID("PATCH", item,
			       ru_fmt("[{\"op\":\"add\",\"path\":\"/data/n\",\"value\":%s}]", bad[i]),
			       JSON_PATCH, NULL);
		EXPECT_INVALID("PATCH", item,
			       ru_fmt("[{\"op\":\"replace\",\"path\":\"/data/n\",\"value\":[%s]}]", bad[i]),
			       JSON_PATCH, NULL);
		/* A batch refuses as a whole or in its sub-response: never stored. */
		batch = ru_fmt("{\"requests\":[{\"method\":\"PUT\",\"path\":\"%s\","
			       "\"body\":{\"data\":{\"n\":%s}}}]}", item + 3, bad[i]);
		ru_req(&r, "POST", "/v1/batch", batch, NULL, NULL);
		CHECK(r.status == 400 || (r.status == 200 &&
					  ru_int(json_object_array_get_idx(resp_json(&r, "responses"), 0),
						 "status") == 400),
		      "batch with %s: %ld %s", bad[i], r.status, r.body);
		http_resp_free(&r);
		got = get_n(item, &status);
		CHECK(strcmp(got, "1") == 0 && status == 200, "n changed by %s: %ld %s", bad[i], status,
		      got);
	}
}

/* "[[[...0...]]]" n arrays deep, in a ring of ru_fmt buffers when short enough. */
static char *nested(size_t n)
{
	char *s = malloc(2 * n + 2);
	size_t i;

	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + 1 + i] = ']';
	}
	s[n] = '0';
	s[2 * n + 1] = '\0';
	return s;
}

/* "/data/x/0/0/...": a pointer n levels into x. */
static char *pointer(size_t n)
{
	char *s = malloc(16 + 2 * n);
	size_t i;

	strcpy(s, "/data/x");
	for (i = 0; i < n; i++)
		strcat(s, "/0");
	return s;
}

/*
 * JSON Patch builds an object deeper than a body can carry, one request at
 * a time: add, copy and replace (a batch cannot carry a JSON Patch: its
 * bodies are objects; its other writes are bounded by their body). The stored depth limit
 * is max_json_depth - 1 (a stored object always fits back in {"data": ...}).
 */
static void test_depth_every_path(void)
{
	char list[RU_PATH_LEN], item[RU_PATH_LEN + 8];
	char *deep = nested(DEPTH - 3), *ptr = pointer(DEPTH - 4), *body;
	struct http_resp r;

	ru_fresh_list(list);
	snprintf(item, sizeof item, "%s/deep", list);
	/* data(1) + x(DEPTH - 3) levels: the deepest a PUT body can send is DEPTH - 1. */
	body = malloc(strlen(deep) + 64);
	sprintf(body, "{\"data\":{\"x\":%s}}", deep);
	ru_req(&r, "PUT", item, body, NULL, NULL);
	assert_status(&r, 201);
	http_resp_free(&r);
	/* At the limit exactly (DEPTH - 1 with data itself) it is accepted, and reads back. */
	sprintf(body, "[{\"op\":\"add\",\"path\":\"%s/0\",\"value\":[0]}]", ptr);
	ru_req(&r, "PATCH", item, body, JSON_PATCH, NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_fields=x", item), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(strstr(r.body, "\"x\":[[") != NULL, "_fields lost x: %s", body_snip(&r));
	http_resp_free(&r);
	/* One level more, through each operation. */
	sprintf(body, "[{\"op\":\"add\",\"path\":\"%s/0\",\"value\":[[0]]}]", ptr);
	EXPECT_INVALID("PATCH", item, body, JSON_PATCH, "data");
	sprintf(body, "[{\"op\":\"replace\",\"path\":\"%s/0\",\"value\":{\"a\":{\"b\":1}}}]", ptr);
	EXPECT_INVALID("PATCH", item, body, JSON_PATCH, "data");
	EXPECT_INVALID("PATCH", item, "[{\"op\":\"copy\",\"from\":\"/data/x\",\"path\":\"/data/x/0/0\"}]",
		       JSON_PATCH, "data");
	EXPECT_INVALID("PATCH", item, "[{\"op\":\"add\",\"path\":\"/data/y\",\"value\":0},"
		       "{\"op\":\"copy\",\"from\":\"/data/x\",\"path\":\"/data/x/0/-\"}]", JSON_PATCH, "data");
	/* Nothing of the refused patches was kept. */
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	CHECK(r.status == 200 && strstr(r.body, "\"y\"") == NULL && strstr(r.body, "\"b\"") == NULL,
	      "refused patch kept: %s", body_snip(&r));
	http_resp_free(&r);
	free(body);
	free(ptr);
	free(deep);
}

/*
 * An object PostgreSQL holds but pawl cannot parse (planted directly: no
 * request can store one): a list page ending on it, _fields and PATCH are
 * 500 and logged, never a page without its Next-Page.
 */
static void test_unreadable_is_logged_500(void)
{
	char list[RU_PATH_LEN], b[RU_ID_LEN], item[RU_PATH_LEN + 8];
	struct http_resp r;

	ru_fresh_collection(b);
	snprintf(list, sizeof list, "%s", ru_records(b, "c"));
	PUT(ru_fmt("%s/a1", list), "{}", 201);
	PUT(ru_fmt("%s/a2", list), "{}", 201);
	snprintf(item, sizeof item, "%s/a2", list);
	CU_ASSERT_FATAL(harness_psql(ru_fmt("UPDATE objects SET data = data || '{\\\"n\\\": 1e30}' "
				    "WHERE id = 'a2' AND parent_id = '/buckets/%s/collections/c'", b), NULL, 0));
	ru_req(&r, "GET", ru_fmt("%s?_limit=1", list), NULL, NULL, NULL);
	assert_error(&r, 500, 999);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_fields=n", list), NULL, NULL, NULL);
	assert_error(&r, 500, 999);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_fields=n", item), NULL, NULL, NULL);
	assert_error(&r, 500, 999);
	http_resp_free(&r);
	ru_req(&r, "PATCH", item, "{\"data\":{\"m\":1}}", NULL, NULL);
	assert_error(&r, 500, 999);
	http_resp_free(&r);
	ru_req(&r, "PATCH", item, "[{\"op\":\"add\",\"path\":\"/data/m\",\"value\":1}]", JSON_PATCH, NULL);
	assert_error(&r, 500, 999);
	http_resp_free(&r);
	CHECK(log_has("stored object does not parse"), "the 500 was not logged");
	CHECK(log_has(ru_fmt("/buckets/%s/collections/c/records/a2", b)), "the log does not name the object");
	/* The other object stays readable. */
	ru_req(&r, "GET", ru_fmt("%s/a1?_fields=id", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
}

/* \u0000 and lone surrogates, in keys, values, ids and permissions, every write path. */
static void test_nul_and_surrogates(void)
{
	static const struct {
		const char *data; /* the members of data */
		const char *name; /* the field named in details */
	} cases[] = {
		{ "\"k\":\"1\",\"k\\u0000x\":\"2\"", "data.k\\u0000x" },
		{ "\"k\":\"a\\u0000b\"", "data.k" },
		{ "\"k\":\"\\u0000\"", "data.k" },
		{ "\"k\":[\"ok\",\"\\u0000\"]", "data.k.1" },
		{ "\"k\":{\"in\":\"\\u0000\"}", "data.k.in" },
		{ "\"k\":\"\\ud800\"", "data.k" },
		{ "\"k\":\"\\udc00\"", "data.k" },
		{ "\"k\":\"\\ud800x\"", "data.k" },
		{ "\"k\":\"\\uD800\\u0041\"", "data.k" },
		{ "\"k\":\"\\ud800\\ud800\"", "data.k" },
		{ "\"k\":\"\\udbff\"", "data.k" },
		{ "\"k\\ud800\":1", "data.k\\ud800" },
		{ "\"id\":\"a\\u0000b\"", "data.id" },
	};
	char list[RU_PATH_LEN], item[RU_PATH_LEN + 8];
	struct http_resp r;
	size_t i;

	ru_fresh_list(list);
	snprintf(item, sizeof item, "%s/r1", list);
	PUT(item, "{\"k\":\"0\"}", 201);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *body = ru_fmt("{\"data\":{%s}}", cases[i].data);

		EXPECT_INVALID("PUT", ru_fmt("%s/n%zu", list, i), body, NULL, cases[i].name);
		EXPECT_INVALID("POST", list, body, NULL, cases[i].name);
		EXPECT_INVALID("PATCH", item, body, NULL, cases[i].name);
		EXPECT_INVALID("PATCH", item, body, MERGE_PATCH, cases[i].name);
		CHECK(ru_gone(ru_fmt("%s/n%zu", list, i)), "case %zu stored", i);
	}
	EXPECT_INVALID("PATCH", item, "[{\"op\":\"add\",\"path\":\"/data/k\",\"value\":\"\\u0000\"}]",
		       JSON_PATCH, "0.value");
	EXPECT_INVALID("PATCH", item, "[{\"op\":\"add\",\"path\":\"/data/k\\u0000x\",\"value\":1}]",
		       JSON_PATCH, "0.path");
	EXPECT_INVALID("PUT", item, "{\"data\":{},\"permissions\":{\"read\":[\"a\\u0000\"]}}", NULL,
		       "permissions.read.0");
	EXPECT_INVALID("PUT", item, "{\"data\":{},\"permissions\":{\"read\\ud800\":[]}}", NULL,
		       "permissions.read\\ud800");
	EXPECT_INVALID("POST", "/v1/batch", ru_fmt("{\"requests\":[{\"method\":\"PUT\",\"path\":\"%s\","
		       "\"body\":{\"data\":{\"k\":\"\\u0000\"}}}]}", item + 3), NULL,
		       "requests.0.body.data.k");
	/* A valid pair is a character like any other. */
	ru_req(&r, "PUT", item, "{\"data\":{\"k\":\"\\ud83d\\ude00\"}}", NULL, NULL);
	assert_status(&r, 200);
	CHECK(r.json != NULL && ru_str(resp_json(&r, "data"), "k") != NULL &&
		      strcmp(ru_str(resp_json(&r, "data"), "k"), "\xf0\x9f\x98\x80") == 0,
	      "pair: %s", r.body);
	http_resp_free(&r);
	/* Stored content untouched by all of the above. */
	CHECK(strcmp(get_n(item, &(long){ 0 }), "") == 0, "data.n appeared");
}

/*
 * NUL and lone surrogates in the query string and the URL: 400 (or 404 for
 * a parent), never a database error.
 */
static void test_nul_in_urls(void)
{
	static const char *const queries[] = {
		"?k=%00", "?k=a%00b", "?k=%22%5Cu0000%22", "?in_k=a,%00", "?has_k%00=true",
		"?_sort=k%00", "?_fields=k%00", "?k=%22%5Cud800%22", "?k%00x=1",
	};
	char list[RU_PATH_LEN];
	struct http_resp r;
	size_t i;

	ru_fresh_list(list);
	PUT(ru_fmt("%s/r1", list), "{\"k\":\"1\"}", 201);
	for (i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		ru_req(&r, "GET", ru_fmt("%s%s", list, queries[i]), NULL, NULL, NULL);
		assert_error(&r, 400, 107);
		CHECK(strstr(r.body, "database") == NULL, "%s: %s", queries[i], r.body);
		http_resp_free(&r);
	}
	EXPECT_INVALID("GET", ru_fmt("%s?k=%%00", list), NULL, NULL, "k");
	EXPECT_INVALID("GET", ru_fmt("%s?k=%%22%%5Cu0000%%22", list), NULL, NULL, "k");
	EXPECT_INVALID("DELETE", ru_fmt("%s?k=%%00", list), NULL, NULL, "k");
	/* nginx itself refuses %00 in a path (its page, not Kinto's: the nginx snippet's business). */
	ru_req(&r, "GET", ru_fmt("%s/r%%001", list), NULL, NULL, NULL);
	CHECK(r.status == 400, "id with NUL: %ld", r.status);
	http_resp_free(&r);
	ru_req(&r, "PUT", ru_fmt("%s/r%%00", list), "{\"data\":{}}", NULL, NULL);
	CHECK(r.status == 400, "id with NUL: %ld", r.status);
	http_resp_free(&r);
	ru_req(&r, "GET", "/v1/buckets/a%00b/collections", NULL, NULL, NULL);
	CHECK(r.status == 400 || r.status == 404, "parent with NUL: %ld", r.status);
	http_resp_free(&r);
}

void test_security_input_register(void);

void test_security_input_register(void)
{
	CU_pSuite s = CU_add_suite("security: input", suite_init, NULL);

	CU_add_test(s, "numbers kept exactly or refused, read back", test_numbers_round_trip);
	CU_add_test(s, "numbers refused on every write path", test_numbers_every_path);
	CU_add_test(s, "stored depth bounded on every write path", test_depth_every_path);
	CU_add_test(s, "unparsable stored object is a logged 500", test_unreadable_is_logged_500);
	CU_add_test(s, "NUL and lone surrogates 400 naming the field", test_nul_and_surrogates);
	CU_add_test(s, "NUL in query and path never a database error", test_nul_in_urls);
}

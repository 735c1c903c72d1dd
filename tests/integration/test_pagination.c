/*
 * Pagination of list endpoints, black-box (docs/protocol.md §4):
 * Next-Page as an absolute URL followed to the end sees each object once,
 * with any sort, filters, _fields and tombstones; forged, truncated or
 * other-query tokens are refused; paginate_by and storage_max_fetch_size cap
 * the page (set through a config reload); 5,000 objects paged at _limit=100.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

#define MAX_PAGES 1000
#define SCALE_OBJECTS 5000
#define SCALE_CLIENTS 4
#define SCALE_LIMIT 100

/* --- page walks ------------------------------------------------------------------ */

/*
 * GETs first, then follows Next-Page to the end; every object's id goes into
 * out, in order. Checks that each Next-Page is an absolute URL into /v1/ that
 * keeps `keep` (when not NULL), that a page with a Next-Page holds exactly
 * limit objects and the last one at most limit. Returns the number of pages.
 */
static int walk_at(const char *first, size_t limit, const char *keep, struct ru_ids *out,
		   const char *file, unsigned line)
{
	const char *base = harness_base_url();
	size_t blen = strlen(base);
	char path[8192];
	int pages = 0;

	SET(path, first);
	while (pages < MAX_PAGES) {
		struct http_resp r;
		const char *next;
		size_t n;

		ru_req(&r, "GET", path, NULL, NULL, NULL);
		pages++;
		if (r.status != 200) {
			assert_status_at(&r, 200, file, line);
			http_resp_free(&r);
			return pages;
		}
		n = ru_len(resp_json(&r, "data"));
		ru_ids_take(out, &r, NULL);
		next = resp_header(&r, "Next-Page");
		check_at(n <= limit, file, line, "page %d of %s: %zu objects, limit %zu", pages,
			 first, n, limit);
		if (next == NULL) {
			http_resp_free(&r);
			return pages;
		}
		check_at(n == limit, file, line, "page %d of %s has a Next-Page but %zu objects",
			 pages, first, n);
		check_at(strncmp(next, base, blen) == 0 && strncmp(next + blen, "/v1/", 4) == 0,
			 file, line, "Next-Page %s is not an absolute URL on %s/v1/", next, base);
		check_at(keep == NULL || strstr(next, keep) != NULL, file, line,
			 "Next-Page %s lost %s", next, keep);
		check_at(strstr(next, "_token=") != NULL, file, line, "Next-Page %s has no _token",
			 next);
		if (strncmp(next, base, blen) != 0) {
			http_resp_free(&r);
			return pages;
		}
		SET(path, next + blen);
		http_resp_free(&r);
	}
	check_at(false, file, line, "%s: more than %d pages", first, MAX_PAGES);
	return pages;
}

#define WALK(f, l, k, o) walk_at((f), (l), (k), (o), __FILE__, __LINE__)

/* --- pagination ----------------------------------------------------------------------- */

/* 25 objects: n = 0..24, g = n % 3 except every fifth, which has no g. */
static void page_fixture(char *list)
{
	ru_fresh_list(list);
	for (int i = 0; i < 25; i++)
		POST(list, i % 5 == 0 ? ru_fmt("{\"n\": %d}", i)
				      : ru_fmt("{\"n\": %d, \"g\": %d}", i, i % 3));
}

/* Walking query at limit gives the same order as one GET of query, each id once. */
static void walk_matches_at(const char *list, const char *query, size_t limit, const char *keep,
			    size_t want, const char *file, unsigned line)
{
	struct ru_ids all = { 0 }, paged = { 0 };
	struct http_resp r;
	int pages;

	ru_req(&r, "GET", ru_fmt("%s?%s", list, query), NULL, NULL, NULL);
	assert_status_at(&r, 200, file, line);
	check_at(resp_header(&r, "Next-Page") == NULL, file, line, "%s without _limit: Next-Page",
		 query);
	ru_ids_take(&all, &r, NULL);
	http_resp_free(&r);

	pages = walk_at(ru_fmt("%s?%s&_limit=%zu", list, query, limit), limit, keep, &paged, file,
			line);
	check_at(all.n == want, file, line, "?%s: %zu objects, expected %zu", query, all.n, want);
	check_at(pages == (want == 0 ? 1 : (int)((want + limit - 1) / limit)), file, line,
		 "?%s at _limit=%zu: %d pages for %zu objects", query, limit, pages, want);
	check_at(ru_ids_duplicates(&paged) == 0, file, line, "?%s: %zu objects seen twice", query,
		 ru_ids_duplicates(&paged));
	check_at(ru_ids_equal(&all, &paged), file, line,
		 "?%s: the pages (%zu objects) differ from the whole list (%zu)", query, paged.n,
		 all.n);
	ru_ids_free(&all);
	ru_ids_free(&paged);
}

#define WALK_MATCHES(l, q, n, k, w) walk_matches_at((l), (q), (n), (k), (w), __FILE__, __LINE__)

static void test_pagination(void)
{
	char list[RU_PATH_LEN];
	struct http_resp r;

	page_fixture(list);
	ru_req(&r, "GET", ru_fmt("%s?_limit=10", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 10, "_limit=10: %zu objects",
	      ru_len(resp_json(&r, "data")));
	CHECK(resp_header(&r, "Next-Page") != NULL, "_limit=10 of 25: no Next-Page");
	CHECK(resp_header(&r, "Next-Page") == NULL ||
		  strstr(resp_header(&r, "Next-Page"), "_limit=10") != NULL,
	      "Next-Page %s does not keep _limit=10", resp_header(&r, "Next-Page"));
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_limit=25", list), NULL, NULL, NULL);
	CHECK(resp_header(&r, "Next-Page") == NULL,
	      "a page holding the whole list has a Next-Page");
	http_resp_free(&r);

	WALK_MATCHES(list, "_sort=-last_modified", 10, NULL, 25);
	WALK_MATCHES(list, "_sort=g,n", 4, "_sort=g", 25);
	WALK_MATCHES(list, "_sort=-g", 3, "_sort=-g", 25); /* ties and missing values */
	WALK_MATCHES(list, "_sort=g,-last_modified", 2, NULL, 25);
	WALK_MATCHES(list, "min_n=5&_sort=g", 3, "min_n=5", 20);
	WALK_MATCHES(list, "has_g=true&_sort=-n", 7, "has_g=true", 20);
	WALK_MATCHES(list, "_fields=n&_sort=n", 6, "_fields=n", 25);
	WALK_MATCHES(list, "_sort=n", 25, NULL, 25);
	WALK_MATCHES(list, "_sort=n", 5, NULL, 25); /* the last page is exactly full */
	WALK_MATCHES(list, "_expected=1&_sort=n", 4, "_expected=1", 25); /* ignored, kept */
}

static void test_pagination_tombstones(void)
{
	char list[RU_PATH_LEN], ids[8][64];
	struct ru_ids paged = { 0 };
	struct http_resp r;
	size_t deleted = 0;

	ru_fresh_list(list);
	for (int i = 0; i < 8; i++)
		POST_ID(list, ru_fmt("{\"n\": %d}", i), ids[i]);
	for (int i = 0; i < 8; i += 3) {
		ru_req(&r, "DELETE", ru_fmt("%s/%s", list, ids[i]), NULL, NULL, NULL);
		assert_status(&r, 200);
		http_resp_free(&r);
	}
	WALK(ru_fmt("%s?_since=0&_limit=3", list), 3, "_since=0", &paged);
	CHECK(paged.n == 8 && ru_ids_duplicates(&paged) == 0,
	      "_since=0 paged: %zu objects (%zu twice), expected 8 with 3 tombstones", paged.n,
	      ru_ids_duplicates(&paged));
	ru_ids_free(&paged);
	/* count the tombstones of one unpaginated sync */
	ru_req(&r, "GET", ru_fmt("%s?_since=0", list), NULL, NULL, NULL);
	ru_ids_take(&paged, &r, &deleted);
	CHECK(deleted == 3, "_since=0: %zu tombstones, expected 3", deleted);
	http_resp_free(&r);
	ru_ids_free(&paged);
}

/* The value of _token in a Next-Page URL. */
static void token_of(const char *url, char *out, size_t size)
{
	const char *t = url ? strstr(url, "_token=") : NULL;

	out[0] = '\0';
	if (t != NULL)
		snprintf(out, size, "%.*s", (int)strcspn(t + 7, "&"), t + 7);
}

static void test_tokens(void)
{
	char list[RU_PATH_LEN], token[2048], forged[2048];
	struct http_resp r;
	const char *dot;
	size_t len;

	page_fixture(list);
	ru_req(&r, "GET", ru_fmt("%s?_sort=n&_limit=2", list), NULL, NULL, NULL);
	token_of(resp_header(&r, "Next-Page"), token, sizeof token);
	http_resp_free(&r);
	len = strlen(token);
	CU_ASSERT_FATAL(len > 8);

	/* a token can be used again on GET */
	{
		struct http_resp a, b;

		ru_req(&a, "GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, token), NULL, NULL,
		       NULL);
		ru_req(&b, "GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, token), NULL, NULL,
		       NULL);
		assert_status(&a, 200);
		assert_status(&b, 200);
		CHECK(ru_len(resp_json(&a, "data")) == 2 &&
			  ru_int(json_object_array_get_idx(resp_json(&a, "data"), 0), "n") == 2 &&
			  strcmp(ru_ids_csv(&a, false), ru_ids_csv(&b, false)) == 0,
		      "the second page is not n = 2, 3 both times: %s / %s", ru_ids_csv(&a, false),
		      ru_ids_csv(&b, false));
		http_resp_free(&a);
		http_resp_free(&b);
	}

	/* forged: one character of the content changed, or of the signature */
	dot = strchr(token, '.');
	SET(forged, token);
	forged[3] = forged[3] == 'A' ? 'B' : 'A';
	EXPECT_ERROR("GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, forged), NULL, NULL, 400,
		     107);
	SET(forged, token);
	forged[len - 2] = forged[len - 2] == 'A' ? 'B' : 'A';
	EXPECT_ERROR("GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, forged), NULL, NULL, 400,
		     107);
	/* truncated */
	snprintf(forged, sizeof forged, "%.*s", (int)(len - 3), token);
	EXPECT_ERROR("GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, forged), NULL, NULL, 400,
		     107);
	if (dot != NULL) {
		snprintf(forged, sizeof forged, "%.*s", (int)(dot - token), token);
		EXPECT_ERROR("GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, forged), NULL,
			     NULL, 400, 107);
	}
	snprintf(forged, sizeof forged, "%.*s", (int)(len / 2), token);
	EXPECT_ERROR("GET", ru_fmt("%s?_sort=n&_limit=2&_token=%s", list, forged), NULL, NULL, 400,
		     107);
	/* another query */
	EXPECT_ERROR("GET", ru_fmt("%s?_sort=-n&_limit=2&_token=%s", list, token), NULL, NULL, 400,
		     107);
	EXPECT_ERROR("GET", ru_fmt("%s?_sort=n&min_n=3&_limit=2&_token=%s", list, token), NULL,
		     NULL, 400, 107);
	EXPECT_ERROR("GET", ru_fmt("%s?_limit=2&_token=%s", list, token), NULL, NULL, 400, 107);
	/* made up: Kinto's unsigned format, base64 of {"last_object": {}, "offset": 0} */
	EXPECT_ERROR("GET", ru_fmt("%s?_token=eyJsYXN0X29iamVjdCI6IHt9LCAib2Zmc2V0IjogMH0=", list),
		     NULL, NULL, 400, 107);
	EXPECT_ERROR("GET", ru_fmt("%s?_token=%%FF%%FE", list), NULL, NULL, 400, 107);
}

/* --- caps ---------------------------------------------------------------------------------- */

/* GET path: n objects, and a Next-Page with _limit=limit (limit 0: no Next-Page). */
static void expect_page_at(const char *path, size_t n, int limit, const char *file, unsigned line)
{
	struct http_resp r;
	const char *next;

	ru_req(&r, "GET", path, NULL, NULL, NULL);
	assert_status_at(&r, 200, file, line);
	next = resp_header(&r, "Next-Page");
	check_at(ru_len(resp_json(&r, "data")) == n, file, line,
		 "GET %s: %zu objects, expected %zu", path, ru_len(resp_json(&r, "data")), n);
	if (limit == 0)
		check_at(next == NULL, file, line, "GET %s: Next-Page %s", path, next);
	else
		check_at(next != NULL && strstr(next, ru_fmt("_limit=%d&", limit)) != NULL, file,
			 line, "GET %s: Next-Page %s, expected _limit=%d", path,
			 next ? next : "missing", limit);
	http_resp_free(&r);
}

#define EXPECT_PAGE(p, n, l) expect_page_at((p), (n), (l), __FILE__, __LINE__)

static void test_caps(void)
{
	char list[RU_PATH_LEN];
	struct ru_ids paged = { 0 };
	bool ok;

	ru_fresh_list(list);
	for (int i = 0; i < 10; i++)
		POST(list, ru_fmt("{\"n\": %d}", i));

	ok = ru_reload("\npaginate_by = 3\n");
	CHECK(ok, "reload with paginate_by = 3 failed");
	if (ok) {
		EXPECT_PAGE(list, 3, 3);
		EXPECT_PAGE(ru_fmt("%s?_limit=10", list), 3, 3);
		EXPECT_PAGE(ru_fmt("%s?_limit=2", list), 2, 2);
		CHECK(WALK(ru_fmt("%s?_limit=10", list), 3, NULL, &paged) == 4,
		      "paginate_by = 3: not 4 pages for 10 objects");
		CHECK(paged.n == 10 && ru_ids_duplicates(&paged) == 0,
		      "paginate_by = 3: %zu objects", paged.n);
		ru_ids_free(&paged);
	}
	ok = ru_reload("\nstorage_max_fetch_size = 4\n");
	CHECK(ok, "reload with storage_max_fetch_size = 4 failed");
	if (ok) {
		EXPECT_PAGE(list, 4, 4);
		EXPECT_PAGE(ru_fmt("%s?_limit=10", list), 4, 4);
		EXPECT_PAGE(ru_fmt("%s?_limit=3", list), 3, 3);
	}
	ok = ru_reload("\npaginate_by = 5\nstorage_max_fetch_size = 2\n");
	CHECK(ok, "reload with both caps failed");
	if (ok)
		EXPECT_PAGE(ru_fmt("%s?_limit=10", list), 2, 2);
	ok = ru_reload(NULL);
	CHECK(ok, "reload with the original settings failed");
	if (ok)
		EXPECT_PAGE(list, 10, 0);
}

/* --- 5,000 objects --------------------------------------------------------------------- */

struct filler {
	const char *list;
	int from, to;
	char (*ids)[40];
	int failed;
};

/* A client thread: POSTs its share (CUnit is not thread-safe: failures are counted). */
static void *fill(void *arg)
{
	struct filler *f = arg;
	const char *const hdrs[] = { ru_auth(), NULL };
	char body[64];

	for (int i = f->from; i < f->to; i++) {
		struct http_resp r;
		json_object *id;

		snprintf(body, sizeof body, "{\"data\": {\"i\": %d}}", i);
		http_request("POST", f->list, hdrs, body, &r);
		id = resp_json(&r, "data.id");
		if (r.status == 201 && id != NULL)
			snprintf(f->ids[i], sizeof f->ids[i], "%s", json_object_get_string(id));
		else
			f->failed++;
		http_resp_free(&r);
	}
	return NULL;
}

static void test_scale(void)
{
	char list[RU_PATH_LEN];
	char(*ids)[40] = calloc(SCALE_OBJECTS, sizeof *ids);
	struct filler fl[SCALE_CLIENTS];
	pthread_t th[SCALE_CLIENTS];
	struct ru_ids paged = { 0 }, created = { 0 };
	int failed = 0, pages;

	CU_ASSERT_FATAL(ids != NULL);
	ru_fresh_list(list);
	for (int t = 0; t < SCALE_CLIENTS; t++) {
		fl[t] = (struct filler){ list, t * SCALE_OBJECTS / SCALE_CLIENTS,
					 (t + 1) * SCALE_OBJECTS / SCALE_CLIENTS, ids, 0 };
		CU_ASSERT_FATAL(pthread_create(&th[t], NULL, fill, &fl[t]) == 0);
	}
	for (int t = 0; t < SCALE_CLIENTS; t++) {
		pthread_join(th[t], NULL);
		failed += fl[t].failed;
	}
	CHECK(failed == 0, "%d of %d POSTs failed", failed, SCALE_OBJECTS);

	pages = WALK(ru_fmt("%s?_limit=%d", list, SCALE_LIMIT), SCALE_LIMIT, NULL, &paged);
	CHECK(pages == SCALE_OBJECTS / SCALE_LIMIT, "%d pages for %d objects at _limit=%d", pages,
	      SCALE_OBJECTS, SCALE_LIMIT);
	CHECK(ru_ids_duplicates(&paged) == 0, "%zu objects seen twice", ru_ids_duplicates(&paged));
	for (int i = 0; i < SCALE_OBJECTS; i++)
		if (ids[i][0] != '\0')
			ru_ids_add(&created, ids[i]);
	ru_ids_sort(&created);
	ru_ids_sort(&paged);
	CHECK(paged.n == SCALE_OBJECTS && ru_ids_equal(&created, &paged),
	      "paging saw %zu objects, %zu were created", paged.n, created.n);
	ru_ids_free(&paged);
	ru_ids_free(&created);
	free(ids);
}

/* --- registration --------------------------------------------------------------------- */

static int suite_init(void)
{
	ru_login("pagination-user", "pagination-password");
	return 0;
}

static int suite_clean(void)
{
	return ru_reload_restore() ? 0 : -1;
}

void test_pagination_register(void);

void test_pagination_register(void)
{
	CU_pSuite s = CU_add_suite("pagination", suite_init, suite_clean);

	CU_add_test(s, "Next-Page to the end: each object once", test_pagination);
	CU_add_test(s, "Next-Page with tombstones", test_pagination_tombstones);
	CU_add_test(s, "_token: forged, truncated, another query", test_tokens);
	CU_add_test(s, "paginate_by and storage_max_fetch_size", test_caps);
	CU_add_test(s, "5,000 objects paged at _limit=100", test_scale);
}

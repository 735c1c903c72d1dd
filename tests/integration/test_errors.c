/* Malformed and misdirected requests through nginx: every answer is pawl's
 * JSON error document (or a 307 redirect), never nginx's own page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define BIG_BODY (1536 * 1024) /* 1.5 MB: over max_request_body, under nginx's cap */

static char auth[512];

static int suite_init(void)
{
	basic_auth(auth, sizeof auth, "errors-user", "errors-password");
	return 0;
}

static void expect_error(const char *method, const char *path, const char *const *headers,
			 const char *body, long status, int err_no, const char *file,
			 unsigned line)
{
	struct http_resp r;

	http_request(method, path, headers, body, &r);
	assert_error_at(&r, status, err_no, file, line);
	http_resp_free(&r);
}

#define EXPECT_ERROR(m, p, hd, b, s, e) expect_error((m), (p), (hd), (b), (s), (e), __FILE__, __LINE__)

static void test_unknown_url(void)
{
	EXPECT_ERROR("GET", "/v1/unknown", NULL, NULL, 404, 111);
	EXPECT_ERROR("GET", "/v1/buckets/b1/unknown", NULL, NULL, 404, 111);
}

static void test_method_not_allowed(void)
{
	const char *hdrs[] = { auth, NULL };
	struct http_resp r;
	const char *allow;

	http_request("PATCH", "/v1/buckets", hdrs, "{\"data\": {}}", &r);
	assert_error(&r, 405, 115);
	allow = resp_header(&r, "Allow");
	CHECK(allow != NULL, "405 without an Allow header");
	if (allow != NULL)
		CHECK(strstr(allow, "GET") != NULL && strstr(allow, "POST") != NULL &&
			      strstr(allow, "PATCH") == NULL,
		      "Allow: %s", allow);
	http_resp_free(&r);

	http_request("PUT", "/v1/buckets", hdrs, "{\"data\": {}}", &r);
	assert_error(&r, 405, 115);
	CHECK(resp_header(&r, "Allow") != NULL, "405 without an Allow header");
	http_resp_free(&r);
}

static void test_unknown_version(void)
{
	EXPECT_ERROR("GET", "/v2/buckets", NULL, NULL, 404, 116);
	EXPECT_ERROR("GET", "/v2/", NULL, NULL, 404, 116);
}

static void redirect(const char *path, const char *want, const char *file, unsigned line)
{
	struct http_resp r;

	http_request("GET", path, NULL, NULL, &r);
	assert_location_at(&r, want, file, line);
	http_resp_free(&r);
}

#define REDIRECT(p, w) redirect((p), (w), __FILE__, __LINE__)

static void test_version_redirect(void)
{
	REDIRECT("/buckets", "/v1/buckets");
	REDIRECT("/buckets?_limit=1", "/v1/buckets?_limit=1");
	REDIRECT("/buckets/b1/collections?a=1&b=%20x", "/v1/buckets/b1/collections?a=1&b=%20x");
	REDIRECT("/", "/v1/");
	REDIRECT("/v1", "/v1/");
}

static void test_trailing_slash_redirect(void)
{
	REDIRECT("/v1/buckets/", "/v1/buckets");
	REDIRECT("/v1/buckets/?_limit=2&_sort=-id", "/v1/buckets?_limit=2&_sort=-id");
	REDIRECT("/v1/buckets/b1/collections/", "/v1/buckets/b1/collections");
}

/* An encoded CR LF must never come back raw in a header (response splitting). */
static void no_header_injection(const char *path, const char *file, unsigned line)
{
	struct http_resp r;
	const char *loc;
	size_t blen = strlen(harness_base_url());

	http_request("GET", path, NULL, NULL, &r);
	loc = resp_header(&r, "Location");
	check_at(r.status == 307 || r.status == 400 || r.status == 404, file, line,
		 "%s -> %ld %s", path, r.status, body_snip(&r));
	check_at(resp_header(&r, "X-Injected") == NULL, file, line,
		 "%s injected a header: X-Injected: %s", path, resp_header(&r, "X-Injected"));
	check_at(resp_header_count(&r, "Location") <= 1, file, line, "several Location headers");
	if (loc != NULL) {
		check_at(strpbrk(loc, "\r\n") == NULL, file, line, "raw CR/LF in Location");
		check_at(strncmp(loc, "/v1/", 4) == 0 ||
				 (strncmp(loc, harness_base_url(), blen) == 0 &&
				  strncmp(loc + blen, "/v1/", 4) == 0),
			 file, line, "Location %s leaves /v1/", loc);
	}
	if (r.status != 307)
		assert_error_at(&r, r.status, r.status == 400 ? 107 : 111, file, line);
	http_resp_free(&r);
}

static void test_crlf_not_reflected(void)
{
	no_header_injection("/buckets%0D%0AX-Injected:%20yes", __FILE__, __LINE__);
	no_header_injection("/buckets%0d%0aX-Injected:%20yes?x=1", __FILE__, __LINE__);
	no_header_injection("/v1/buckets%0D%0AX-Injected:%20yes/", __FILE__, __LINE__);
	no_header_injection("/%0D%0AX-Injected:%20yes", __FILE__, __LINE__);
}

static char *big_body(void)
{
	static const char head[] = "{\"data\": {\"pad\": \"";
	static const char tail[] = "\"}}";
	char *b = malloc(BIG_BODY + 1);

	if (b == NULL)
		return NULL;
	memset(b, 'x', BIG_BODY);
	memcpy(b, head, sizeof head - 1);
	memcpy(b + BIG_BODY - (sizeof tail - 1), tail, sizeof tail - 1);
	b[BIG_BODY] = '\0';
	return b;
}

static void test_body_too_large(void)
{
	const char *hdrs[] = { auth, NULL };
	char *body = big_body();
	struct http_resp r;

	CU_ASSERT_FATAL(body != NULL);
	http_request_ex("POST", "/v1/buckets", hdrs, body, BIG_BODY, false, &r);
	assert_error(&r, 413, 113);
	http_resp_free(&r);
	/* Without Content-Length: nginx must still tell pawl the length. */
	http_request_ex("POST", "/v1/buckets", hdrs, body, BIG_BODY, true, &r);
	assert_error(&r, 413, 113);
	http_resp_free(&r);
	free(body);
}

static void test_invalid_json(void)
{
	const char *hdrs[] = { auth, NULL };
	static const char bad[] = "{\"data\": {\"a\": ";
	char path[128], id[64];
	struct http_resp r;

	unique_id(id, sizeof id, "badjson");
	snprintf(path, sizeof path, "/v1/buckets/%s", id);
	EXPECT_ERROR("PUT", path, hdrs, bad, 400, 107);
	EXPECT_ERROR("POST", "/v1/buckets", hdrs, "not json at all", 400, 107);
	http_request_ex("PUT", path, hdrs, bad, sizeof bad - 1, true, &r);
	assert_error(&r, 400, 107);
	http_resp_free(&r);
	/* Nothing was written by the failed requests. */
	http_request("GET", path, hdrs, NULL, &r);
	CHECK(r.status == 404 || r.status == 403, "GET after failed PUT: %ld %s", r.status,
	      body_snip(&r));
	http_resp_free(&r);
}

static void test_wrong_content_type(void)
{
	const char *hdrs[] = { auth, "Content-Type: text/plain", NULL };

	EXPECT_ERROR("POST", "/v1/buckets", hdrs, "{\"data\": {}}", 415, 107);
}

static void test_not_acceptable(void)
{
	const char *hdrs[] = { auth, "Accept: text/html", NULL };

	EXPECT_ERROR("GET", "/v1/buckets", hdrs, NULL, 406, 107);
}

static void test_invalid_utf8_path(void)
{
	const char *hdrs[] = { auth, NULL };

	EXPECT_ERROR("GET", "/v1/buckets/%FF%FE", hdrs, NULL, 400, 107);
	EXPECT_ERROR("GET", "/v1/buckets/%C3%28", hdrs, NULL, 400, 107);
	EXPECT_ERROR("GET", "/v1/buckets/b1/collections/%ED%A0%80", hdrs, NULL, 400, 107);
}

void test_errors_register(void)
{
	CU_pSuite s = CU_add_suite("errors", suite_init, NULL);

	CU_add_test(s, "unknown URL 404/111", test_unknown_url);
	CU_add_test(s, "wrong method 405/115 + Allow", test_method_not_allowed);
	CU_add_test(s, "unknown version 404/116", test_unknown_version);
	CU_add_test(s, "version redirect 307", test_version_redirect);
	CU_add_test(s, "trailing slash redirect 307", test_trailing_slash_redirect);
	CU_add_test(s, "encoded CR/LF never reflected", test_crlf_not_reflected);
	CU_add_test(s, "body over max_request_body 413/113", test_body_too_large);
	CU_add_test(s, "invalid JSON 400/107", test_invalid_json);
	CU_add_test(s, "text/plain body 415/107", test_wrong_content_type);
	CU_add_test(s, "Accept text/html 406/107", test_not_acceptable);
	CU_add_test(s, "invalid UTF-8 in path 400/107", test_invalid_utf8_path);
}

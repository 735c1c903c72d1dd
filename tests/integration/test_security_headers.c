/*
 * Request headers pawl echoes into its answer (Origin, the preflight's
 * Access-Control-Request-Headers, Host and X-Forwarded-Host in Next-Page
 * URLs) with control characters in them. A response that fails to take a
 * header answers a JSON 500 (http/response.c, sticky failure); what a
 * client sends must never get there: each echo filters first, so every
 * answer here is below 500 and carries no control character in any header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

static const char *const dirt[] = { "\x01", "\x7f", "\t", "\x1b[31m", "\x1f" };
#define N_DIRT (sizeof dirt / sizeof *dirt)

static bool headers_clean(const struct http_resp *r)
{
	for (size_t i = 0; i < r->nheaders; i++)
		for (const unsigned char *p = (const unsigned char *)r->headers[i].value; *p; p++)
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				return false;
	return true;
}

/* One request with header "name: a<dirt>b"; the answer must be sane. */
static void try_dirty(const char *method, const char *path, const char *name, const char *dirty,
    const char *extra)
{
	char h[256];
	struct http_resp r;

	snprintf(h, sizeof h, "%s: a%sb.example", name, dirty);
	http_request(method, path, (const char *const[]){ h, ru_auth(), extra, NULL }, NULL, &r);
	CHECK(r.status > 0 && r.status < 500, "%s %s with %s holding 0x%02x: HTTP %ld", method, path,
	    name, (unsigned char)dirty[0], r.status);
	CHECK(headers_clean(&r), "%s %s with %s holding 0x%02x: a control character in a header",
	    method, path, name, (unsigned char)dirty[0]);
	http_resp_free(&r);
}

static void test_dirty_echoes(void)
{
	char list[RU_PATH_LEN];
	struct http_resp r;

	ru_fresh_list(list);
	for (int i = 0; i < 2; i++) {
		ru_req(&r, "POST", list, "{\"data\": {}}", NULL, NULL);
		CHECK(r.status == 201, "POST %s: HTTP %ld", list, r.status);
		http_resp_free(&r);
	}
	for (size_t d = 0; d < N_DIRT; d++) {
		try_dirty("GET", "/v1/", "Origin", dirt[d], NULL);
		try_dirty("OPTIONS", ru_fmt("%s", list), "Origin", dirt[d],
		    "Access-Control-Request-Method: POST");
		try_dirty("OPTIONS", ru_fmt("%s", list), "Access-Control-Request-Headers", dirt[d],
		    "Access-Control-Request-Method: POST");
		/* Next-Page is an absolute URL built from these. */
		try_dirty("GET", ru_fmt("%s?_limit=1", list), "Host", dirt[d], NULL);
		try_dirty("GET", ru_fmt("%s?_limit=1", list), "X-Forwarded-Host", dirt[d], NULL);
		try_dirty("GET", ru_fmt("%s?_limit=1", list), "X-Forwarded-Proto", dirt[d], NULL);
	}
}

static int suite_init(void)
{
	ru_login("headers-user", "headers-password");
	return 0;
}

void test_security_headers_register(void)
{
	CU_pSuite s = CU_add_suite("security: control characters in echoed headers", suite_init,
	    NULL);

	CU_add_test(s, "Origin, preflight, Host, X-Forwarded-*: never a 5xx, never echoed raw",
	    test_dirty_echoes);
}

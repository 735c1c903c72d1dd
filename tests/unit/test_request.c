/* Request: CGI params, headers, content negotiation, absolute URLs, the request id. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "core/config.h"
#include "http/request.h"
#include "unit.h"

static struct pawl_arena *arena;
static struct pawl_config *cfg;

static int setup(void)
{
	struct pawl_error err;

	arena = pawl_arena_new(4096);
	cfg = pawl_config_parse("[app:main]\n", "t.ini", NULL, &err);
	return arena == NULL || cfg == NULL;
}

static int teardown(void)
{
	pawl_config_free(cfg);
	pawl_arena_free(arena);
	return 0;
}

static enum pawl_err init(struct pawl_request *req, char **params, struct pawl_error *err)
{
	pawl_arena_reset(arena);
	pawl_error_clear(err);
	return pawl_request_init(req, arena, params, err);
}

static void test_init(void)
{
	char *params[] = { "REQUEST_METHOD=PUT", "REQUEST_URI=/v1/buckets/b?_limit=2",
		"HTTP_IF_MATCH=\"12\"", "CONTENT_TYPE=application/json; charset=utf-8", NULL };
	struct pawl_request req;
	struct pawl_error err;

	CU_ASSERT_EQUAL_FATAL(init(&req, params, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(req.method, "PUT");
	CU_ASSERT_EQUAL(req.method_bit, PAWL_METHOD_PUT);
	CU_ASSERT_STRING_EQUAL(req.raw_path, "/v1/buckets/b");
	CU_ASSERT_STRING_EQUAL(req.query, "_limit=2");
	CU_ASSERT_STRING_EQUAL(pawl_request_header(&req, "If-Match"), "\"12\"");
	CU_ASSERT_STRING_EQUAL(pawl_request_header(&req, "content-type"),
	    "application/json; charset=utf-8");
	CU_ASSERT_PTR_NULL(pawl_request_header(&req, "If-None-Match"));
}

static void test_bad_uri(void)
{
	char *none[] = { "REQUEST_METHOD=GET", NULL };
	char *relative[] = { "REQUEST_URI=v1/", NULL };
	char *ctl[] = { "REQUEST_URI=/v1/\x01", NULL };
	struct pawl_request req;
	struct pawl_error err;

	CU_ASSERT_EQUAL(init(&req, none, &err), PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(init(&req, relative, &err), PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(init(&req, ctl, &err), PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.location, "path");
}

static enum pawl_err accept_of(const char *accept)
{
	char header[256];
	char *params[] = { "REQUEST_URI=/v1/", header, NULL };
	struct pawl_request req;
	struct pawl_error err;

	snprintf(header, sizeof(header), "HTTP_ACCEPT=%s", accept);
	init(&req, params, &err);
	return pawl_request_check_accept(&req, &err);
}

static void test_accept(void)
{
	CU_ASSERT_EQUAL(accept_of(""), PAWL_OK);
	CU_ASSERT_EQUAL(accept_of("application/json"), PAWL_OK);
	CU_ASSERT_EQUAL(accept_of("text/html, application/json;q=0.9"), PAWL_OK);
	CU_ASSERT_EQUAL(accept_of("*/*"), PAWL_OK);
	CU_ASSERT_EQUAL(accept_of("application/*"), PAWL_OK);
	CU_ASSERT_EQUAL(accept_of("text/html"), PAWL_ERR_NOT_ACCEPTABLE);
	CU_ASSERT_EQUAL(accept_of("application/xml, text/plain"), PAWL_ERR_NOT_ACCEPTABLE);
	CU_ASSERT_EQUAL(accept_of("application/json;q=0"), PAWL_ERR_NOT_ACCEPTABLE);
	CU_ASSERT_EQUAL(accept_of("application/json; q=0.0"), PAWL_ERR_NOT_ACCEPTABLE);
	CU_ASSERT_EQUAL(accept_of("application/json;q=0.5"), PAWL_OK);
}

static enum pawl_err content_type_of(const char *ct, struct pawl_error *err)
{
	static const char *const allowed[] = { "application/json", "application/merge-patch+json", NULL };
	char header[256];
	char *params[] = { "REQUEST_URI=/v1/", ct ? header : NULL, NULL };
	struct pawl_request req;

	snprintf(header, sizeof(header), "CONTENT_TYPE=%s", ct ? ct : "");
	init(&req, params, err);
	return pawl_request_check_content_type(&req, allowed, err);
}

static void test_content_type(void)
{
	struct pawl_error err;

	CU_ASSERT_EQUAL(content_type_of("application/json", &err), PAWL_OK);
	CU_ASSERT_EQUAL(content_type_of("Application/JSON; charset=utf-8", &err), PAWL_OK);
	CU_ASSERT_EQUAL(content_type_of("application/merge-patch+json", &err), PAWL_OK);
	CU_ASSERT_EQUAL(content_type_of("text/plain", &err), PAWL_ERR_MEDIA_TYPE);
	CU_ASSERT_STRING_EQUAL(err.name, "Content-Type");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'application/json'"));
	CU_ASSERT_EQUAL(content_type_of(NULL, &err), PAWL_ERR_MEDIA_TYPE);
	CU_ASSERT_EQUAL(content_type_of("application/jsonx", &err), PAWL_ERR_MEDIA_TYPE);
}

static void test_url(void)
{
	char *plain[] = { "REQUEST_URI=/v1/", "HTTP_HOST=example.org:8888", NULL };
	char *fwd[] = { "REQUEST_URI=/v1/", "HTTP_HOST=internal", "HTTP_X_FORWARDED_HOST=api.example.org",
		"HTTP_X_FORWARDED_PROTO=https", NULL };
	char *bad[] = { "REQUEST_URI=/v1/", "HTTP_HOST=evil.org/\"x", "SERVER_NAME=srv",
		"SERVER_PORT=8080", NULL };
	struct pawl_request req;
	struct pawl_error err;

	init(&req, plain, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, cfg, "/"), "http://example.org:8888/v1/");
	/* No trusted_proxies: X-Forwarded-* are a client's words. */
	init(&req, fwd, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, cfg, "/buckets"), "http://internal/v1/buckets");
	init(&req, bad, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, cfg, "/"), "http://srv:8080/v1/");
}

/* X-Forwarded-* only from a peer in trusted_proxies; http_host/http_scheme win over all. */
static void test_url_proxies(void)
{
	char *from_proxy[] = { "REQUEST_URI=/v1/", "HTTP_HOST=internal:8080", "REMOTE_ADDR=10.1.2.3",
		"SERVER_NAME=srv", "SERVER_PORT=8080", "HTTP_X_FORWARDED_HOST=evil, api.example.org",
		"HTTP_X_FORWARDED_PROTO=https", NULL };
	char *from_client[] = { "REQUEST_URI=/v1/", "HTTP_HOST=internal:8080", "REMOTE_ADDR=10.9.0.1",
		"HTTP_X_FORWARDED_HOST=evil.example", "HTTP_X_FORWARDED_PROTO=https", NULL };
	char *v6[] = { "REQUEST_URI=/v1/", "HTTP_HOST=internal", "REMOTE_ADDR=fd00::5",
		"HTTP_X_FORWARDED_HOST=v6.example.org", "HTTP_X_FORWARDED_PROTO=javascript", NULL };
	char *bad_value[] = { "REQUEST_URI=/v1/", "HTTP_HOST=internal", "REMOTE_ADDR=10.1.2.3",
		"HTTP_X_FORWARDED_HOST=evil.example/x?", "HTTP_X_FORWARDED_PROTO=https:", NULL };
	/* the proxy added its own header line after the client's */
	char *two_lines[] = { "REQUEST_URI=/v1/", "HTTP_HOST=internal", "REMOTE_ADDR=10.1.0.1",
		"HTTP_X_FORWARDED_HOST=evil.example", "HTTP_X_FORWARDED_PROTO=javascript",
		"HTTP_X_FORWARDED_HOST=api.example.org", "HTTP_X_FORWARDED_PROTO=https", NULL };
	char *https_on[] = { "REQUEST_URI=/v1/", "HTTPS=on", "SERVER_NAME=srv", "SERVER_PORT=443",
		"REQUEST_SCHEME=https", NULL };
	struct pawl_config *c;
	struct pawl_request req;
	struct pawl_error err;

	c = pawl_config_parse("[app:main]\ntrusted_proxies = 10.1.0.0/16 fd00::/8\n", "t.ini", NULL,
	    &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	init(&req, from_proxy, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "https://api.example.org/v1/");
	init(&req, from_client, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "http://internal:8080/v1/");
	init(&req, v6, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "http://v6.example.org/v1/");
	init(&req, bad_value, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "http://internal/v1/");
	init(&req, two_lines, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "https://api.example.org/v1/");
	init(&req, https_on, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "https://srv/v1/");
	pawl_config_free(c);
	c = pawl_config_parse("[app:main]\ntrusted_proxies = 10.1.0.0/16\nhttp_host = pawl.example\n"
	    "http_scheme = https\n", "t.ini", NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	init(&req, from_proxy, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/x"), "https://pawl.example/v1/x");
	init(&req, v6, &err);
	CU_ASSERT_STRING_EQUAL(pawl_request_url(&req, c, "/"), "https://pawl.example/v1/");
	pawl_config_free(c);
}

static bool is_generated(const char *id)
{
	return id != NULL && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

static void test_request_id_valid(void)
{
	char longest[PAWL_REQUEST_ID_MAX + 2];

	memset(longest, 'a', sizeof(longest));
	longest[PAWL_REQUEST_ID_MAX] = '\0';
	CU_ASSERT_TRUE(pawl_request_id_valid("0f4c7d2e9a1b3c5d7e9f1a2b3c4d5e6f"));
	CU_ASSERT_TRUE(pawl_request_id_valid("a"));
	CU_ASSERT_TRUE(pawl_request_id_valid("Req-1.2_3"));
	CU_ASSERT_TRUE(pawl_request_id_valid(longest));
	longest[PAWL_REQUEST_ID_MAX] = 'a';
	longest[PAWL_REQUEST_ID_MAX + 1] = '\0';
	CU_ASSERT_FALSE(pawl_request_id_valid(longest));
	CU_ASSERT_FALSE(pawl_request_id_valid(NULL));
	CU_ASSERT_FALSE(pawl_request_id_valid(""));
	CU_ASSERT_FALSE(pawl_request_id_valid("a b"));
	CU_ASSERT_FALSE(pawl_request_id_valid("a\r\nX-Evil: 1"));
	CU_ASSERT_FALSE(pawl_request_id_valid("a\nb"));
	CU_ASSERT_FALSE(pawl_request_id_valid("\"quoted\""));
	CU_ASSERT_FALSE(pawl_request_id_valid("a\\b"));
	CU_ASSERT_FALSE(pawl_request_id_valid("caf\xc3\xa9"));
	CU_ASSERT_FALSE(pawl_request_id_valid("a/b"));
}

/* nginx's $request_id is taken as given; a malformed one or none gets a fresh id. */
static void test_request_id(void)
{
	char *nginx[] = { "REQUEST_URI=/v1/", "PAWL_REQUEST_ID=0f4c7d2e9a1b3c5d7e9f1a2b3c4d5e6f", NULL };
	char *none[] = { "REQUEST_URI=/v1/", NULL };
	char *split[] = { "REQUEST_URI=/v1/", "PAWL_REQUEST_ID=abc\r\nSet-Cookie: x=1", NULL };
	char *empty[] = { "REQUEST_URI=/v1/", "PAWL_REQUEST_ID=", NULL };
	/* A client's X-Request-Id (HTTP_X_REQUEST_ID) is never the id, valid or not. */
	char *client[] = { "REQUEST_URI=/v1/", "HTTP_X_REQUEST_ID=chosen-by-the-client",
		"HTTP_PAWL_REQUEST_ID=chosen-too", NULL };
	char big[200] = "PAWL_REQUEST_ID=";
	char *too_long[] = { "REQUEST_URI=/v1/", big, NULL };
	const char *a, *b;

	pawl_arena_reset(arena);
	a = pawl_request_id(arena, nginx);
	CU_ASSERT_STRING_EQUAL(a, "0f4c7d2e9a1b3c5d7e9f1a2b3c4d5e6f");
	CU_ASSERT_PTR_NOT_EQUAL(a, nginx[1] + strlen("PAWL_REQUEST_ID=")); /* a copy: params die first */
	a = pawl_request_id(arena, none);
	b = pawl_request_id(arena, none);
	CU_ASSERT_TRUE(is_generated(a));
	CU_ASSERT_TRUE(is_generated(b));
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_TRUE(is_generated(pawl_request_id(arena, split)));
	CU_ASSERT_TRUE(is_generated(pawl_request_id(arena, empty)));
	CU_ASSERT_TRUE(is_generated(pawl_request_id(arena, client)));
	memset(big + strlen(big), '7', 65);
	CU_ASSERT_TRUE(is_generated(pawl_request_id(arena, too_long)));
	CU_ASSERT_TRUE(is_generated(pawl_request_id(arena, NULL)));
}

void test_request_register(void)
{
	CU_pSuite s = CU_add_suite("request", setup, teardown);

	CU_add_test(s, "params and headers", test_init);
	CU_add_test(s, "bad REQUEST_URI", test_bad_uri);
	CU_add_test(s, "Accept negotiation", test_accept);
	CU_add_test(s, "Content-Type check", test_content_type);
	CU_add_test(s, "absolute URLs", test_url);
	CU_add_test(s, "absolute URLs behind proxies", test_url_proxies);
	CU_add_test(s, "request id: what may be one", test_request_id_valid);
	CU_add_test(s, "request id: nginx's, else a fresh one", test_request_id);
}

/*
 * The protocol extras (docs/protocol.md §5, §9; README "Protocol
 * extras"): readonly, Backoff, Retry-After, end of service, CORS, the
 * security headers, endpoint switches, the remote_user policy and the
 * personal default bucket. Settings are changed through a config reload
 * (SIGHUP) and restored by every test that changes them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resource_util.h"

#define CSP "default-src 'none'; frame-ancestors 'none'; base-uri 'none';"
#define RELOAD_MS 20000
#define MAX_KIDS 64

/* --- small helpers --------------------------------------------------------------------- */

/* Whether the comma-separated header value list holds token (any case). */
static bool has_token(const char *list, const char *token)
{
	size_t n = strlen(token);

	while (list != NULL && *list != '\0') {
		size_t skip = strspn(list, " ,\t"), len;

		list += skip;
		len = strcspn(list, ",");
		while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(list, token, n) == 0)
			return true;
		list += strcspn(list, ",");
	}
	return false;
}

/* Header name of r is exactly want (or absent when want is NULL), once at most. */
static void header_is_at(const struct http_resp *r, const char *name, const char *want,
			 const char *file, unsigned line)
{
	const char *got = resp_header(r, name);
	bool ok = want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0;

	check_at(ok, file, line, "%s (HTTP %ld): %s is \"%s\", expected %s%s%s", r->what, r->status,
		 name, got ? got : "(absent)", want ? "\"" : "", want ? want : "none",
		 want ? "\"" : "");
	check_at(resp_header_count(r, name) <= 1, file, line, "%s: several %s headers", r->what,
		 name);
}
#define HEADER_IS(r, n, w) header_is_at((r), (n), (w), __FILE__, __LINE__)

/* A request with no Authorization and up to three headers. */
static void anon_req(struct http_resp *r, const char *method, const char *path, const char *body,
		     const char *h1, const char *h2, const char *h3)
{
	const char *h[4] = { h1, h2, h3, NULL };

	http_request(method, path, h, body, r);
}

static bool hello_readonly(void)
{
	struct http_resp r;
	json_object *v;
	bool ro;

	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	v = resp_json(&r, "settings.readonly");
	CHECK(r.status == 200 && v != NULL && json_object_is_type(v, json_type_boolean),
	      "hello has no boolean settings.readonly: %s", body_snip(&r));
	ro = v != NULL && json_object_get_boolean(v);
	http_resp_free(&r);
	return ro;
}

/* --- readonly, Retry-After --------------------------------------------------------------- */

static void test_readonly(void)
{
	char b[RU_ID_LEN], rec[256], list[256], empty[256], batch[512];
	struct http_resp r;
	long long lm;
	bool ok;

	ru_fresh_collection(b);
	SET(rec, ru_record(b, "c", "r1"));
	SET(list, ru_records(b, "c"));
	lm = PUT(rec, "{\"n\": 1}", 201);
	PUT(ru_collection(b, "untouched"), "{}", 201);
	SET(empty, ru_records(b, "untouched")); /* a list never read nor written */
	CHECK(!hello_readonly(), "readonly before the reload");
	snprintf(batch, sizeof batch,
		 "{\"requests\": [{\"method\": \"PUT\", \"path\": "
		 "\"/buckets/%s/collections/c/records/viabatch\", \"body\": {\"data\": {}}}]}",
		 b);

	ok = ru_reload("\nreadonly = true\nretry_after_seconds = 7\n");
	CHECK(ok, "reload with readonly = true failed");
	if (ok) {
		CHECK(hello_readonly(), "hello: settings.readonly is not true");
		CU_ASSERT(http_status("/v1/__heartbeat__") == 200);
		ru_req(&r, "GET", rec, NULL, NULL, NULL);
		assert_status(&r, 200);
		check_data(&r, "{\"n\": 1}");
		http_resp_free(&r);
		CHECK(ru_total(list) == 1, "HEAD of a list in readonly mode");
		CHECK(ru_get_lm(ru_bucket(b)) > 0, "GET bucket in readonly mode");
		EXPECT_SET(list, "r1");

		EXPECT_ERROR("POST", "/v1/buckets", "{\"data\": {}}", NULL, 405, 115);
		EXPECT_ERROR("PUT", ru_bucket(ru_fmt("%sx", b)), "{\"data\": {}}", NULL, 405, 115);
		EXPECT_ERROR("PATCH", ru_bucket(b), "{\"data\": {\"a\": 1}}", NULL, 405, 115);
		EXPECT_ERROR("DELETE", ru_bucket(b), NULL, NULL, 405, 115);
		EXPECT_ERROR("PUT", ru_collection(b, "c9"), "{\"data\": {}}", NULL, 405, 115);
		EXPECT_ERROR("PUT", rec, "{\"data\": {\"n\": 2}}", NULL, 405, 115);
		EXPECT_ERROR("PATCH", rec, "{\"data\": {\"n\": 2}}", NULL, 405, 115);
		EXPECT_ERROR("DELETE", rec, NULL, NULL, 405, 115);
		EXPECT_ERROR("POST", list, "{\"data\": {}}", NULL, 405, 115);
		EXPECT_ERROR("DELETE", list, NULL, NULL, 405, 115);
		EXPECT_ERROR("PUT", ru_fmt("/v1/buckets/%s/groups/g", b), "{\"data\": {}}", NULL,
			     405, 115);
		EXPECT_ERROR("POST", "/v1/batch", batch, NULL, 405, 115);
		anon_req(&r, "POST", "/v1/buckets", "{\"data\": {}}", NULL, NULL, NULL);
		assert_error(&r, 405, 115);
		http_resp_free(&r);

		/*
		 * An empty list whose timestamp was never stored: served empty at
		 * timestamp 0 (Kinto answers 503; see docs/deployment.md), nothing
		 * stored. retry_after_seconds is checked by the storage suite's outage.
		 */
		ru_req(&r, "GET", empty, NULL, NULL, NULL);
		assert_status(&r, 200);
		CHECK(r.body != NULL && strcmp(r.body, "{\"data\":[]}") == 0,
		      "a never-listed list in readonly mode: %s", body_snip(&r));
		HEADER_IS(&r, "ETag", "\"0\"");
		http_resp_free(&r);
	}
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	CHECK(!hello_readonly(), "readonly after the restore");
	CHECK(ru_get_lm(rec) == lm, "readonly changed the record (last_modified %lld, was %lld)",
	      ru_get_lm(rec), lm);
	CHECK(ru_get_lm(ru_bucket(ru_fmt("%sx", b))) == -403, "readonly created a bucket");
	CHECK(ru_get_lm(ru_record(b, "c", "viabatch")) == -404, "readonly ran a batch");
	EXPECT_SET(list, "r1");
	EXPECT_SET(empty, "");
}

/* --- Backoff ------------------------------------------------------------------------------ */

static void test_backoff(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	bool ok;

	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	HEADER_IS(&r, "Backoff", NULL);
	http_resp_free(&r);
	ok = ru_reload("\nbackoff = 30\n");
	CHECK(ok, "reload with backoff = 30 failed");
	if (ok) {
		unique_id(b, sizeof b, "xb");
		ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
		assert_status(&r, 200);
		HEADER_IS(&r, "Backoff", "30");
		http_resp_free(&r);
		ru_req(&r, "PUT", ru_bucket(b), "{\"data\": {}}", NULL, NULL);
		assert_status(&r, 201);
		HEADER_IS(&r, "Backoff", "30");
		http_resp_free(&r);
		ru_req(&r, "GET", ru_collection(b, "missing"), NULL, NULL, NULL);
		assert_error(&r, 404, 110);
		HEADER_IS(&r, "Backoff", "30");
		http_resp_free(&r);
		ru_req(&r, "GET", "/v1/buckets/nobody-has-this/collections", NULL, NULL, NULL);
		assert_error(&r, 403, 121);
		HEADER_IS(&r, "Backoff", "30");
		http_resp_free(&r);
		anon_req(&r, "PUT", ru_bucket(b), "{\"data\": {}}", NULL, NULL, NULL);
		assert_error(&r, 401, 104);
		HEADER_IS(&r, "Backoff", "30");
		http_resp_free(&r);
		ru_req(&r, "GET", "/v1/no-such-endpoint", NULL, NULL, NULL);
		assert_status(&r, 404);
		HEADER_IS(&r, "Backoff", "30");
		http_resp_free(&r);
	}
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	HEADER_IS(&r, "Backoff", NULL);
	http_resp_free(&r);
}

/* --- end of service ------------------------------------------------------------------------ */

/* The Alert header of r: JSON with code want_code, and the message and url set below. */
static void alert_is_at(const struct http_resp *r, const char *want_code, const char *file,
			unsigned line)
{
	const char *a = resp_header(r, "Alert");
	json_object *o = a ? json_tokener_parse(a) : NULL;
	const char *code = ru_str(o, "code"), *msg = ru_str(o, "message"), *url = ru_str(o, "url");

	check_at(o != NULL && code != NULL && strcmp(code, want_code) == 0 && msg != NULL &&
		     strcmp(msg, "pawl retires here") == 0 && url != NULL &&
		     strcmp(url, "https://example.org/eol") == 0,
		 file, line, "%s (HTTP %ld): Alert is %s, expected %s with message and url",
		 r->what, r->status, a ? a : "(absent)", want_code);
	json_object_put(o);
}
#define ALERT_IS(r, c) alert_is_at((r), (c), __FILE__, __LINE__)

static const char eos_extra[] = "\neos_message = pawl retires here\n"
				"eos_url = https://example.org/eol\n";

static void test_eos_soft(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	bool ok;

	ru_fresh_collection(b);
	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	HEADER_IS(&r, "Alert", NULL);
	CHECK(resp_json(&r, "eos") == NULL, "hello has eos without the setting: %s", body_snip(&r));
	http_resp_free(&r);
	ok = ru_reload(ru_fmt("\neos = 2099-12-31%s", eos_extra));
	CHECK(ok, "reload with eos in the future failed");
	if (ok) {
		ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
		assert_status(&r, 200);
		ALERT_IS(&r, "soft-eol");
		CHECK(ru_str(r.json, "eos") != NULL &&
			  strcmp(ru_str(r.json, "eos"), "2099-12-31") == 0,
		      "hello: eos is not \"2099-12-31\": %s", body_snip(&r));
		http_resp_free(&r);
		ru_req(&r, "GET", ru_collection(b, "c"), NULL, NULL, NULL);
		assert_status(&r, 200);
		ALERT_IS(&r, "soft-eol");
		http_resp_free(&r);
		ru_req(&r, "PUT", ru_record(b, "c", "r"), "{\"data\": {}}", NULL, NULL);
		assert_status(&r, 201);
		ALERT_IS(&r, "soft-eol");
		http_resp_free(&r);
		ru_req(&r, "GET", ru_record(b, "c", "missing"), NULL, NULL, NULL);
		assert_error(&r, 404, 110);
		ALERT_IS(&r, "soft-eol");
		http_resp_free(&r);
	}
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	HEADER_IS(&r, "Alert", NULL);
	http_resp_free(&r);
}

static void test_eos_hard(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	bool ok;

	ru_fresh_collection(b);
	/* ru_reload's final check of /v1/__lbheartbeat__ gets the 410 too: not asserted */
	ru_reload(ru_fmt("\neos = 2000-01-01%s", eos_extra));
	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	assert_error(&r, 410, 202);
	ALERT_IS(&r, "hard-eol");
	http_resp_free(&r);
	ru_req(&r, "GET", ru_collection(b, "c"), NULL, NULL, NULL);
	assert_error(&r, 410, 202);
	ALERT_IS(&r, "hard-eol");
	http_resp_free(&r);
	ru_req(&r, "PUT", ru_record(b, "c", "r"), "{\"data\": {}}", NULL, NULL);
	assert_error(&r, 410, 202);
	ALERT_IS(&r, "hard-eol");
	http_resp_free(&r);
	anon_req(&r, "GET", "/v1/buckets", NULL, NULL, NULL, NULL);
	assert_error(&r, 410, 202);
	http_resp_free(&r);
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	CHECK(ru_get_lm(ru_record(b, "c", "r")) == -404, "a PUT after the end of service was kept");
	CU_ASSERT(http_status("/v1/") == 200);
}

/* --- CORS ------------------------------------------------------------------------------------ */

/* r allows origin (Access-Control-Allow-Origin is origin) and exposes Kinto's headers. */
static void cors_allowed_at(const struct http_resp *r, const char *origin, const char *file,
			    unsigned line)
{
	static const char *const exposed[] = { "Next-Page",	"ETag",	       "Alert",
					       "Backoff",	"Retry-After", "Total-Records",
					       "Last-Modified", "Content-Type" };
	const char *expose = resp_header(r, "Access-Control-Expose-Headers");

	header_is_at(r, "Access-Control-Allow-Origin", origin, file, line);
	for (size_t i = 0; i < sizeof exposed / sizeof *exposed; i++)
		check_at(has_token(expose, exposed[i]), file, line,
			 "%s: Access-Control-Expose-Headers lacks %s: %s", r->what, exposed[i],
			 expose ? expose : "(absent)");
}
#define CORS_ALLOWED(r, o) cors_allowed_at((r), (o), __FILE__, __LINE__)

/* OPTIONS path as a preflight from origin for method, asking for headers. */
static void preflight(struct http_resp *r, const char *path, const char *origin, const char *method,
		      const char *headers)
{
	char o[256], m[128], h[256];

	snprintf(o, sizeof o, "Origin: %s", origin);
	snprintf(m, sizeof m, "Access-Control-Request-Method: %s", method);
	snprintf(h, sizeof h, "Access-Control-Request-Headers: %s", headers);
	anon_req(r, "OPTIONS", path, NULL, o, m, h);
}

static void test_cors(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	const char *origin = "Origin: http://app.example";
	const char *methods;

	ru_fresh_collection(b);
	PUT(ru_record(b, "c", "r1"), "{}", 201);
	ru_req(&r, "GET", "/v1/", NULL, origin, NULL);
	assert_status(&r, 200);
	CORS_ALLOWED(&r, "http://app.example");
	http_resp_free(&r);
	ru_req(&r, "GET", ru_records(b, "c"), NULL, origin, NULL);
	assert_status(&r, 200);
	CORS_ALLOWED(&r, "http://app.example");
	http_resp_free(&r);
	ru_req(&r, "GET", ru_record(b, "c", "r1"), NULL, origin, NULL);
	assert_status(&r, 200);
	CORS_ALLOWED(&r, "http://app.example");
	http_resp_free(&r);
	/* errors carry them too (Kinto re-applies CORS) */
	anon_req(&r, "GET", ru_record(b, "c", "r1"), NULL, origin, NULL, NULL);
	assert_error(&r, 401, 104);
	CORS_ALLOWED(&r, "http://app.example");
	http_resp_free(&r);
	/* no Origin, no CORS headers */
	ru_req(&r, "GET", "/v1/", NULL, NULL, NULL);
	HEADER_IS(&r, "Access-Control-Allow-Origin", NULL);
	HEADER_IS(&r, "Access-Control-Expose-Headers", NULL);
	http_resp_free(&r);

	/* preflights, without credentials */
	preflight(&r, ru_records(b, "c"), "http://app.example", "POST",
		  "Authorization, Content-Type, If-Match");
	assert_status(&r, 200);
	HEADER_IS(&r, "Access-Control-Allow-Origin", "http://app.example");
	HEADER_IS(&r, "Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
	HEADER_IS(&r, "Access-Control-Max-Age", "3600");
	methods = resp_header(&r, "Access-Control-Allow-Methods");
	CHECK(has_token(methods, "POST") && has_token(methods, "GET") &&
		  !has_token(methods, "PATCH"),
	      "list preflight: Access-Control-Allow-Methods %s", methods ? methods : "(absent)");
	http_resp_free(&r);
	preflight(&r, "/v1/buckets/any/collections/any/records/any", "http://other.example",
		  "DELETE", "Authorization");
	assert_status(&r, 200);
	HEADER_IS(&r, "Access-Control-Allow-Origin", "http://other.example");
	HEADER_IS(&r, "Access-Control-Allow-Headers", "Authorization");
	methods = resp_header(&r, "Access-Control-Allow-Methods");
	CHECK(has_token(methods, "DELETE") && has_token(methods, "PATCH") &&
		  has_token(methods, "PUT") && has_token(methods, "GET"),
	      "item preflight: Access-Control-Allow-Methods %s", methods ? methods : "(absent)");
	http_resp_free(&r);
	/* the preflight wrote nothing and needed no auth: the object is still there */
	CHECK(ru_get_lm(ru_record(b, "c", "r1")) > 0, "the record is gone after a preflight");
}

static void test_cors_origins(void)
{
	static const char *const star_ok[] = { "http://a.example", "https://b.example" };
	static const char *const star_no[] = { "http://a.example.org", "http://example.org",
					       "http://good.example.net" };
	struct http_resp r;
	bool ok;

	ok = ru_reload("\ncors_origins = http://good.example\n");
	CHECK(ok, "reload with cors_origins = http://good.example failed");
	if (ok) {
		ru_req(&r, "GET", "/v1/", NULL, "Origin: http://good.example", NULL);
		assert_status(&r, 200);
		CORS_ALLOWED(&r, "http://good.example");
		http_resp_free(&r);
		ru_req(&r, "GET", "/v1/", NULL, "Origin: http://evil.example", NULL);
		HEADER_IS(&r, "Access-Control-Allow-Origin", NULL);
		http_resp_free(&r);
		preflight(&r, "/v1/buckets", "http://good.example", "POST", "Content-Type");
		assert_status(&r, 200);
		HEADER_IS(&r, "Access-Control-Allow-Origin", "http://good.example");
		http_resp_free(&r);
		preflight(&r, "/v1/buckets", "http://evil.example", "POST", "Content-Type");
		HEADER_IS(&r, "Access-Control-Allow-Origin", NULL);
		http_resp_free(&r);
	}
	ok = ru_reload("\ncors_origins = *.example\n");
	CHECK(ok, "reload with cors_origins = *.example failed");
	if (ok) {
		for (size_t i = 0; i < sizeof star_ok / sizeof *star_ok; i++) {
			ru_req(&r, "GET", "/v1/", NULL, ru_fmt("Origin: %s", star_ok[i]), NULL);
			HEADER_IS(&r, "Access-Control-Allow-Origin", star_ok[i]);
			http_resp_free(&r);
		}
		for (size_t i = 0; i < sizeof star_no / sizeof *star_no; i++) {
			ru_req(&r, "GET", "/v1/", NULL, ru_fmt("Origin: %s", star_no[i]), NULL);
			HEADER_IS(&r, "Access-Control-Allow-Origin", NULL);
			http_resp_free(&r);
		}
	}
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	ru_req(&r, "GET", "/v1/", NULL, "Origin: http://evil.example", NULL);
	HEADER_IS(&r, "Access-Control-Allow-Origin", "http://evil.example");
	http_resp_free(&r);
}

/* --- security headers ------------------------------------------------------------------------ */

static void test_security_headers(void)
{
	char b[RU_ID_LEN];
	struct http_resp r[7];

	ru_fresh_collection(b);
	ru_req(&r[0], "GET", "/v1/", NULL, NULL, NULL);
	ru_req(&r[1], "PUT", ru_record(b, "c", "r1"), "{\"data\": {}}", NULL, NULL);
	ru_req(&r[2], "GET", ru_record(b, "c", "r1"), NULL, NULL, NULL);
	ru_req(&r[3], "GET", ru_record(b, "c", "missing"), NULL, NULL, NULL);
	anon_req(&r[4], "GET", ru_records(b, "c"), NULL, NULL, NULL, NULL);
	ru_req(&r[5], "PATCH", ru_records(b, "c"), "{}", NULL, NULL);
	ru_req(&r[6], "GET", "/v1/__heartbeat__", NULL, NULL, NULL);
	assert_status(&r[1], 201);
	assert_status(&r[3], 404);
	assert_status(&r[4], 401);
	assert_status(&r[5], 405);
	for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
		HEADER_IS(&r[i], "Content-Security-Policy", CSP);
		HEADER_IS(&r[i], "X-Content-Type-Options", "nosniff");
		http_resp_free(&r[i]);
	}
}

/* --- endpoint switches -------------------------------------------------------------------------
 */

static void test_endpoint_switches(void)
{
	char b[RU_ID_LEN], r1[256], list[256], batch[512];
	struct http_resp r;
	bool ok;

	ru_fresh_collection(b);
	SET(r1, ru_record(b, "c", "r1"));
	SET(list, ru_records(b, "c"));
	PUT(r1, "{}", 201);
	PUT(ru_record(b, "c", "r2"), "{}", 201);
	snprintf(batch, sizeof batch,
		 "{\"requests\": [{\"method\": \"DELETE\", \"path\": "
		 "\"/buckets/%s/collections/c/records/r2\"}]}",
		 b);
	ok = ru_reload("\nobject_record_delete_enabled = false\n"
		       "plural_record_post_enabled = false\n");
	CHECK(ok, "reload with endpoint switches failed");
	if (ok) {
		EXPECT_ERROR("DELETE", r1, NULL, NULL, 405, 115);
		EXPECT_ERROR("POST", list, "{\"data\": {}}", NULL, 405, 115);
		CHECK(ru_get_lm(r1) > 0, "GET of a record with DELETE switched off");
		EXPECT_SET(list, "r1,r2");
		ru_req(&r, "PATCH", r1, "{\"data\": {\"a\": 1}}", NULL, NULL);
		assert_status(&r, 200);
		http_resp_free(&r);
		PUT(ru_record(b, "c", "r3"), "{}", 201);
		/* a batch goes through the same switches */
		ru_req(&r, "POST", "/v1/batch", batch, NULL, NULL);
		assert_status(&r, 200);
		CHECK(r.json != NULL &&
			  ru_int(json_object_array_get_idx(resp_json(&r, "responses"), 0),
				 "status") == 405,
		      "batch DELETE of a record switched off: %s", body_snip(&r));
		http_resp_free(&r);
		/* other resources and methods are untouched */
		PUT(ru_collection(b, "c2"), "{}", 201);
		ru_req(&r, "DELETE", ru_collection(b, "c2"), NULL, NULL, NULL);
		assert_status(&r, 200);
		http_resp_free(&r);
		ru_req(&r, "POST", ru_fmt("/v1/buckets/%s/collections", b), "{\"data\": {}}", NULL,
		       NULL);
		assert_status(&r, 201);
		http_resp_free(&r);
	}
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	ru_req(&r, "DELETE", r1, NULL, NULL, NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
	POST(list, "{}");
	CHECK(ru_get_lm(ru_record(b, "c", "r2")) > 0, "the refused batch DELETE was kept");
}

/* --- remote_user --------------------------------------------------------------------------------
 */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static bool any_alive(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pid_alive(pids[i]))
			return true;
	return false;
}

/*
 * pawl.ini becomes text, then SIGHUP as ru_reload does. ru_reload only
 * appends, and multiauth.policies is already in the stack's ini (a second
 * value would conflict), so this test rewrites that line itself.
 */
static bool reload_text(const char *text)
{
	char path[4096], tmp[4200];
	pid_t sup = supervisor_pid(), kids[MAX_KIDS], now[MAX_KIDS];
	size_t n, m = 0;
	long waited = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
	snprintf(tmp, sizeof tmp, "%s.extras", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return false;
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0 || sup <= 0)
		return false;
	n = children_of(sup, kids, MAX_KIDS);
	if (kill(sup, SIGHUP) != 0)
		return false;
	while (waited < RELOAD_MS && (any_alive(kids, n) || m < (size_t)harness_workers())) {
		sleep_ms(50);
		waited += 50;
		m = children_of(sup, now, MAX_KIDS);
	}
	return !any_alive(kids, n) && m >= (size_t)harness_workers() &&
	       http_status("/v1/__lbheartbeat__") == 200;
}

/* hello's user.id for a Basic request as user:password ("" when anonymous). */
static const char *hello_id(const char *user, const char *password)
{
	static char id[256];
	char auth[512];
	const char *h[2] = { auth, NULL };
	struct http_resp r;
	const char *got;

	if (user != NULL)
		basic_auth(auth, sizeof auth, user, password);
	http_request("GET", "/v1/", user ? h : NULL, NULL, &r);
	got = ru_str(resp_json(&r, "user"), "id");
	snprintf(id, sizeof id, "%s", r.status != 200 ? "(error)" : got ? got : "");
	http_resp_free(&r);
	return id;
}

/*
 * With remote_user first, the id is whatever nginx puts in REMOTE_USER. The
 * stack's nginx (like the shipped pawl-fastcgi.conf) passes $remote_user
 * without authenticating anybody: $remote_user is then the *unverified* user
 * name of any "Authorization: Basic" header, so any client can claim any
 * name with any password, as the second request below shows. The policy is
 * only safe where nginx itself authenticates (auth_basic, auth_request).
 */
static void test_remote_user(void)
{
	static const char line[] = "\nmultiauth.policies = account basicauth\n";
	char path[4096], *ini, *changed = NULL, auth[512];
	const char *h[2] = { auth, NULL };
	const char *at;
	struct http_resp r;
	bool ok;

	CHECK(strncmp(hello_id("ru-alice", "pw1"), "basicauth:", 10) == 0 &&
		  strlen(hello_id("ru-alice", "pw1")) == 10 + 64,
	      "basicauth id before the change: %s", hello_id("ru-alice", "pw1"));
	snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
	ini = slurp(path);
	at = ini ? strstr(ini, line) : NULL;
	CHECK(at != NULL, "%s has no line multiauth.policies = account basicauth", path);
	if (at == NULL) {
		free(ini);
		return;
	}
	changed = calloc(1, strlen(ini) + 64);
	if (changed == NULL) {
		free(ini);
		return;
	}
	sprintf(changed, "%.*s\nmultiauth.policies = remote_user account basicauth\n%s", (int)(at - ini),
		ini, at + strlen(line));
	ok = reload_text(changed);
	CHECK(ok, "reload with multiauth.policies = remote_user basicauth failed");
	if (ok) {
		CHECK(strcmp(hello_id("ru-alice", "pw1"), "remote_user:ru-alice") == 0,
		      "remote_user first: user.id %s", hello_id("ru-alice", "pw1"));
		/* nginx did not check the password: another one is the same user */
		CHECK(strcmp(hello_id("ru-alice", "another"), "remote_user:ru-alice") == 0,
		      "remote_user first, other password: user.id %s",
		      hello_id("ru-alice", "another"));
		CHECK(strcmp(hello_id(NULL, NULL), "") == 0, "anonymous hello has user.id %s",
		      hello_id(NULL, NULL));
		/* the id is a principal like any other */
		basic_auth(auth, sizeof auth, "ru-alice", "pw1");
		{
			char b[RU_ID_LEN];

			unique_id(b, sizeof b, "xru");
			http_request("PUT", ru_bucket(b), h, "{\"data\": {}}", &r);
			assert_status(&r, 201);
			check_exact(resp_json(&r, "permissions"),
				    "{\"write\": [\"remote_user:ru-alice\"]}",
				    "remote_user's bucket: permissions");
			http_resp_free(&r);
		}
	}
	ok = reload_text(ini);
	CHECK(ok, "restoring multiauth.policies failed");
	CHECK(strncmp(hello_id("ru-alice", "pw1"), "basicauth:", 10) == 0,
	      "basicauth id after the restore: %s", hello_id("ru-alice", "pw1"));
	free(changed);
	free(ini);
}

/* --- the default bucket
 * --------------------------------------------------------------------------- */

static bool uuid_shaped(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL)
			return false;
	}
	return true;
}

struct du {
	char auth[512];
	const char *h[2];
	char id[128], bucket[64];
};

/* A fresh user, with hello's user.id and user.bucket. */
static void default_user(struct du *u, const char *prefix)
{
	char name[64];
	struct http_resp r;

	unique_id(name, sizeof name, prefix);
	basic_auth(u->auth, sizeof u->auth, name, "default-password");
	u->h[0] = u->auth;
	u->h[1] = NULL;
	http_request("GET", "/v1/", u->h, NULL, &r);
	SET(u->id, ru_str(resp_json(&r, "user"), "id") ? ru_str(resp_json(&r, "user"), "id") : "");
	SET(u->bucket,
	    ru_str(resp_json(&r, "user"), "bucket") ? ru_str(resp_json(&r, "user"), "bucket") : "");
	http_resp_free(&r);
	CHECK(uuid_shaped(u->bucket), "user.bucket %s is not UUID-shaped", u->bucket);
}

static void test_default_bucket(void)
{
	struct du a, b;
	struct http_resp r;

	default_user(&a, "dfa");
	default_user(&b, "dfb");
	CHECK(strcmp(a.bucket, b.bucket) != 0, "two users share the default bucket %s", a.bucket);
	/* not there before the first use */
	http_request("GET", ru_bucket(a.bucket), a.h, NULL, &r);
	assert_error(&r, 403, 121);
	http_resp_free(&r);

	http_request("GET", "/v1/buckets/default", a.h, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_str(resp_json(&r, "data"), "id") != NULL &&
		  strcmp(ru_str(resp_json(&r, "data"), "id"), a.bucket) == 0,
	      "GET /buckets/default: data.id is not user.bucket %s: %s", a.bucket, body_snip(&r));
	check_exact(resp_json(&r, "permissions"), ru_fmt("{\"write\": [\"%s\"]}", a.id),
		    "default bucket: permissions");
	http_resp_free(&r);
	http_request("GET", ru_bucket(a.bucket), a.h, NULL, &r);
	assert_status(&r, 200);
	http_resp_free(&r);

	/* a records URL creates the collection it names */
	http_request("GET", ru_collection(a.bucket, "tasks"), a.h, NULL, &r);
	assert_error(&r, 404, 110);
	http_resp_free(&r);
	http_request("GET", "/v1/buckets/default/collections/tasks/records", a.h, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 0, "a new default collection has records: %s",
	      body_snip(&r));
	http_resp_free(&r);
	http_request("GET", ru_collection(a.bucket, "tasks"), a.h, NULL, &r);
	assert_status(&r, 200);
	http_resp_free(&r);
	http_request("POST", "/v1/buckets/default/collections/tasks/records", a.h,
		     "{\"data\": {\"t\": 1}}", &r);
	assert_status(&r, 201);
	http_resp_free(&r);
	http_request("GET", ru_records(a.bucket, "tasks"), a.h, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 1, "the record posted through default: %s",
	      body_snip(&r));
	http_resp_free(&r);

	/* anonymous: no default bucket */
	http_request("GET", "/v1/buckets/default", NULL, NULL, &r);
	assert_error(&r, 401, 104);
	http_resp_free(&r);
	http_request("GET", "/v1/buckets/default/collections/tasks/records", NULL, NULL, &r);
	assert_error(&r, 401, 104);
	http_resp_free(&r);

	/* another user: their own bucket, not a view of mine */
	http_request("GET", "/v1/buckets/default/collections/tasks/records", b.h, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 0, "another user sees my default records: %s",
	      body_snip(&r));
	http_resp_free(&r);
	http_request("GET", "/v1/buckets/default", b.h, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_str(resp_json(&r, "data"), "id") != NULL &&
		  strcmp(ru_str(resp_json(&r, "data"), "id"), b.bucket) == 0,
	      "B's default bucket is not B's user.bucket %s: %s", b.bucket, body_snip(&r));
	http_resp_free(&r);
	http_request("GET", ru_bucket(a.bucket), b.h, NULL, &r);
	assert_error(&r, 403, 121);
	http_resp_free(&r);
	http_request("GET", ru_records(a.bucket, "tasks"), b.h, NULL, &r);
	assert_error(&r, 403, 121);
	http_resp_free(&r);
}

/* --- registration ------------------------------------------------------------------------------
 */

static int suite_init(void)
{
	ru_login("extras-user", "extras-password");
	return 0;
}

static int suite_clean(void)
{
	return ru_reload_restore() ? 0 : -1;
}

void test_extras_register(void)
{
	CU_pSuite s = CU_add_suite("extras", suite_init, suite_clean);

	CU_add_test(s, "readonly: reads work, writes 405, a never-listed list empty at 0", test_readonly);
	CU_add_test(s, "backoff: Backoff on every response", test_backoff);
	CU_add_test(s, "eos in the future: Alert soft-eol", test_eos_soft);
	CU_add_test(s, "eos in the past: 410 errno 202, Alert hard-eol", test_eos_hard);
	CU_add_test(s, "CORS: allowed origin, exposed headers, preflight", test_cors);
	CU_add_test(s, "cors_origins: exact and wildcard", test_cors_origins);
	CU_add_test(s, "Content-Security-Policy and nosniff", test_security_headers);
	CU_add_test(s, "endpoint switches: 405", test_endpoint_switches);
	CU_add_test(s, "remote_user policy (only behind nginx auth)", test_remote_user);
	CU_add_test(s, "the personal default bucket", test_default_bucket);
}

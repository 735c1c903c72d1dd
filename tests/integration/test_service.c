/* The service endpoints through nginx: hello (anonymous and with Basic auth),
 * heartbeats and version. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "resource_util.h"

static bool is_string(json_object *o)
{
	return o != NULL && json_object_is_type(o, json_type_string);
}

static bool is_bool(json_object *o, bool want)
{
	return o != NULL && json_object_is_type(o, json_type_boolean) &&
	       json_object_get_boolean(o) == want;
}

static void test_hello_anonymous(void)
{
	struct http_resp r;
	char url[128];
	json_object *o;

	http_request("GET", "/v1/", NULL, NULL, &r);
	assert_status(&r, 200);
	assert_json_type(&r);
	o = resp_json(&r, "project_name");
	CHECK(is_string(o) && strcmp(json_object_get_string(o), "pawl") == 0,
	      "project_name: %s", body_snip(&r));
	o = resp_json(&r, "project_version");
	CHECK(is_string(o) && json_object_get_string_len(o) > 0, "project_version: %s", body_snip(&r));
	o = resp_json(&r, "http_api_version");
	CHECK(is_string(o) && strcmp(json_object_get_string(o), "1.23") == 0,
	      "http_api_version: %s", body_snip(&r));
	/* Built from the Host header nginx passes on: exactly our address. */
	snprintf(url, sizeof url, "%s/v1/", harness_base_url());
	o = resp_json(&r, "url");
	CHECK(is_string(o) && strcmp(json_object_get_string(o), url) == 0, "url is not %s: %s",
	      url, body_snip(&r));
	o = resp_json(&r, "settings.batch_max_requests");
	CHECK(o != NULL && json_object_is_type(o, json_type_int) && json_object_get_int(o) > 0,
	      "settings.batch_max_requests: %s", body_snip(&r));
	CHECK(is_bool(resp_json(&r, "settings.readonly"), false), "settings.readonly: %s",
	      body_snip(&r));
	o = resp_json(&r, "settings.explicit_permissions");
	CHECK(o != NULL && json_object_is_type(o, json_type_boolean),
	      "settings.explicit_permissions: %s", body_snip(&r));
	o = resp_json(&r, "capabilities.basicauth");
	CHECK(o != NULL && json_object_is_type(o, json_type_object),
	      "capabilities.basicauth: %s", body_snip(&r));
	CHECK(resp_json(&r, "user") == NULL, "anonymous hello has a user: %s", body_snip(&r));
	http_resp_free(&r);
}

/* GET /v1/ as user:password; copies user.id into id (empty when absent). */
static void hello_user(const char *user, const char *password, char *id, size_t size)
{
	char auth[512];
	const char *hdrs[] = { auth, NULL };
	struct http_resp r;
	json_object *o;

	basic_auth(auth, sizeof auth, user, password);
	http_request("GET", "/v1/", hdrs, NULL, &r);
	assert_status(&r, 200);
	assert_json_type(&r);
	o = resp_json(&r, "user.id");
	snprintf(id, size, "%s", is_string(o) ? json_object_get_string(o) : "");
	http_resp_free(&r);
}

static bool is_basicauth_id(const char *id)
{
	static const char prefix[] = "basicauth:";
	const char *hex = id + strlen(prefix);

	if (strncmp(id, prefix, strlen(prefix)) != 0 || strlen(hex) != 64)
		return false;
	for (; *hex; hex++)
		if (!isxdigit((unsigned char)*hex) || isupper((unsigned char)*hex))
			return false;
	return true;
}

static void test_hello_basicauth(void)
{
	char a1[256], a2[256], b[256], c[256];

	hello_user("alice", "s3cret", a1, sizeof a1);
	CHECK(is_basicauth_id(a1), "user.id \"%s\" is not basicauth:<64 lower hex>", a1);
	hello_user("alice", "s3cret", a2, sizeof a2);
	CHECK(strcmp(a1, a2) == 0, "user.id not stable: %s then %s", a1, a2);
	hello_user("alice", "other", b, sizeof b);
	CHECK(is_basicauth_id(b) && strcmp(a1, b) != 0, "same id for another password: %s", b);
	hello_user("bob", "s3cret", c, sizeof c);
	CHECK(is_basicauth_id(c) && strcmp(a1, c) != 0 && strcmp(b, c) != 0,
	      "same id for another user: %s", c);
}

static void test_heartbeat(void)
{
	struct http_resp r;

	http_request("GET", "/v1/__heartbeat__", NULL, NULL, &r);
	assert_status(&r, 200);
	assert_json_type(&r);
	CHECK(is_bool(resp_json(&r, "storage"), true), "storage: %s", body_snip(&r));
	CHECK(is_bool(resp_json(&r, "permission"), true), "permission: %s", body_snip(&r));
	CHECK(is_bool(resp_json(&r, "redis"), true), "redis listener: %s", body_snip(&r));
	CHECK(is_bool(resp_json(&r, "outbox"), true), "outbox: %s", body_snip(&r));
	if (r.json != NULL && json_object_is_type(r.json, json_type_object)) {
		/* Kinto's rule: every entry is true, false or null, nothing else; here none is false. */
		json_object_object_foreach(r.json, key, val)
			CHECK(val == NULL || (json_object_is_type(val, json_type_boolean) &&
					      json_object_get_boolean(val)),
			      "heartbeat %s is neither true nor null: %s", key, body_snip(&r));
	}
	http_resp_free(&r);
}

static void test_lbheartbeat(void)
{
	struct http_resp r;

	http_request("GET", "/v1/__lbheartbeat__", NULL, NULL, &r);
	assert_status(&r, 200);
	assert_json_type(&r);
	CHECK(r.json != NULL && json_object_is_type(r.json, json_type_object) &&
		      json_object_object_length(r.json) == 0,
	      "lbheartbeat is not {}: %s", body_snip(&r));
	http_resp_free(&r);
}

static void test_version(void)
{
	static const char *const keys[] = { "version", "source", "commit", "build" };
	struct http_resp r;

	http_request("GET", "/v1/__version__", NULL, NULL, &r);
	assert_status(&r, 200);
	assert_json_type(&r);
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		CHECK(is_string(resp_json(&r, keys[i])), "__version__ has no string \"%s\": %s",
		      keys[i], body_snip(&r));
	http_resp_free(&r);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	FILE *f = fopen(ru_fmt("%s/%s", dir, name), "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* The admin capability after a reload with admin_assets_path = DIR; NULL when absent. */
static char *admin_version_after_reload(const char *dir, bool *listed)
{
	struct http_resp r;
	json_object *v;
	char *version = NULL;

	*listed = false;
	CU_ASSERT_FATAL(ru_reload(ru_fmt("admin_assets_path = %s\n", dir)));
	http_request("GET", "/v1/", NULL, NULL, &r);
	assert_status(&r, 200);
	if (resp_json(&r, "capabilities.admin") != NULL) {
		*listed = true;
		CHECK(is_string(resp_json(&r, "capabilities.admin.url")), "admin url: %s", body_snip(&r));
		v = resp_json(&r, "capabilities.admin.version");
		version = strdup(is_string(v) ? json_object_get_string(v) : "");
	}
	http_resp_free(&r);
	return version;
}

/*
 * Kinto Admin's capability: listed when admin_assets_path holds an index.html
 * (nginx serves the files; pawl only looks), with VERSION's first word as its
 * version; whatever VERSION holds, the answer stays one printable word.
 */
static void test_admin_capability(void)
{
	char dir[] = "/tmp/pawl-admin-cap-XXXXXX";
	struct http_resp r;
	char *v;
	bool listed;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	v = admin_version_after_reload(dir, &listed);
	CHECK(!listed, "an empty folder is listed as the admin (version %s)", v ? v : "");
	free(v);
	write_file(dir, "index.html", "<!doctype html>\n");
	v = admin_version_after_reload(dir, &listed);
	CHECK(listed && v != NULL && *v == '\0', "index.html, no VERSION: %s", v ? v : "(absent)");
	free(v);
	write_file(dir, "VERSION", "1.31.1\n");
	v = admin_version_after_reload(dir, &listed);
	CHECK(listed && v != NULL && strcmp(v, "1.31.1") == 0, "version: %s", v ? v : "(absent)");
	free(v);
	write_file(dir, "VERSION", "2.0\"<script>alert(1)</script>\n" "more lines\n");
	v = admin_version_after_reload(dir, &listed);
	CHECK(listed && v != NULL && strcmp(v, "2.0") == 0, "hostile VERSION gave: %s", v ? v : "(absent)");
	free(v);
	unlink(ru_fmt("%s/VERSION", dir));
	unlink(ru_fmt("%s/index.html", dir));
	rmdir(dir);
	CU_ASSERT_FATAL(ru_reload_restore());
	http_request("GET", "/v1/", NULL, NULL, &r);
	CHECK(r.status == 200 && resp_json(&r, "capabilities.admin") == NULL,
	      "without admin_assets_path, the admin is still listed: %s", body_snip(&r));
	http_resp_free(&r);
}

void test_service_register(void)
{
	CU_pSuite s = CU_add_suite("service", NULL, NULL);

	CU_add_test(s, "hello anonymous", test_hello_anonymous);
	CU_add_test(s, "hello with basic auth", test_hello_basicauth);
	CU_add_test(s, "heartbeat", test_heartbeat);
	CU_add_test(s, "lbheartbeat", test_lbheartbeat);
	CU_add_test(s, "version", test_version);
	CU_add_test(s, "admin capability from admin_assets_path", test_admin_capability);
}

/*
 * Hostile requests against what sits around the resources (issue 11): the
 * personal `default` bucket taken over by whoever computes its id first,
 * client-sent X-Forwarded-* steering generated URLs, and nginx's own
 * refusals (413, 414, 400, 502) answered in HTML instead of Kinto's JSON.
 * Black-box: HTTP through the stack's nginx, raw sockets for what libcurl
 * will not send, and a second, tiny nginx in front of a dead socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "resource_util.h"

struct user {
	char auth[512];
	const char *h[4];
	char id[128], bucket[64];
};

/* A fresh user with hello's user.id and user.bucket (which does not create it). */
static void user_new(struct user *u, const char *prefix)
{
	char name[64];
	struct http_resp r;

	unique_id(name, sizeof name, prefix);
	basic_auth(u->auth, sizeof u->auth, name, "proxy-password");
	u->h[0] = u->auth;
	u->h[1] = u->h[2] = u->h[3] = NULL;
	http_request("GET", "/v1/", u->h, NULL, &r);
	SET(u->id, ru_str(resp_json(&r, "user"), "id") ? ru_str(resp_json(&r, "user"), "id") : "");
	SET(u->bucket,
	    ru_str(resp_json(&r, "user"), "bucket") ? ru_str(resp_json(&r, "user"), "bucket") : "");
	http_resp_free(&r);
	CHECK(u->id[0] != '\0' && strlen(u->bucket) == 36, "hello as %s: no user.id/bucket", name);
}

/* A request as u; the status must be want. */
static void as_at(const struct user *u, const char *method, const char *path, const char *body,
		  long want, const char *file, unsigned line)
{
	struct http_resp r;

	http_request(method, path, u->h, body, &r);
	check_at(r.status == want, file, line, "%s: HTTP %ld, expected %ld: %s", r.what, r.status,
		 want, body_snip(&r));
	http_resp_free(&r);
}
#define AS(u, m, p, b, s) as_at((u), (m), (p), (b), (s), __FILE__, __LINE__)

/* Whether GET path as u answers a body holding needle (any status). */
static bool sees(const struct user *u, const char *path, const char *needle)
{
	struct http_resp r;
	bool found;

	http_request("GET", path, u->h, NULL, &r);
	found = r.body != NULL && strstr(r.body, needle) != NULL;
	http_resp_free(&r);
	return found;
}

/* --- personal buckets ------------------------------------------------------------------- */

enum stand { GRANT, LEAVE_WRITE_KEEP_READ, COLLECTION_INSIDE, GRANT_AUTHENTICATED };

/* Bob stands a bucket under Carol's personal id first, granting her write. */
static void stand(const struct user *bob, const struct user *carol, enum stand how)
{
	const char *b = ru_bucket(carol->bucket);

	if (how == GRANT_AUTHENTICATED) {
		AS(bob, "PUT", b, "{\"permissions\": {\"write\": [\"system.Authenticated\"]}}", 201);
		return;
	}
	AS(bob, "PUT", b, ru_fmt("{\"permissions\": {\"write\": [\"%s\"]}}", carol->id), 201);
	if (how == COLLECTION_INSIDE)
		AS(bob, "PUT", ru_collection(carol->bucket, "notes"),
		   ru_fmt("{\"permissions\": {\"read\": [\"%s\"]}}", bob->id), 201);
	/* an attempt: explicit_permissions re-adds a writer (see test_left_by_its_maker) */
	if (how == LEAVE_WRITE_KEEP_READ)
		AS(bob, "PUT", b, ru_fmt("{\"permissions\": {\"write\": [\"%s\"], \"read\": [\"%s\"]}}",
					 carol->id, bob->id), 200);
	if (how == COLLECTION_INSIDE) /* the bucket's ACL now looks exactly like Carol's own */
		AS(bob, "PUT", b, ru_fmt("{\"permissions\": {\"write\": [\"%s\"]}}", carol->id), 200);
}

/* Every way Carol reaches /buckets/default is refused with 403; Bob reads nothing of hers. */
static void refused(const struct user *bob, const struct user *carol, const char *secret)
{
	const char *data = ru_fmt("{\"data\": {\"secret\": \"%s\"}}", secret);
	const char *batch = ru_fmt("{\"requests\": ["
				   "{\"method\": \"POST\", \"path\": \"/buckets/default/collections/"
				   "notes/records\", \"body\": %s},"
				   "{\"method\": \"PUT\", \"path\": \"/buckets/default/collections/"
				   "notes/records/r2\", \"body\": %s}]}", data, data);
	struct http_resp r;

	http_request("POST", "/v1/buckets/default/collections/notes/records", carol->h, data, &r);
	assert_error(&r, 403, 121);
	CHECK(r.body && strstr(r.body, "personal"), "the 403 does not say why: %s", body_snip(&r));
	http_resp_free(&r);
	http_request("PUT", "/v1/buckets/default/collections/notes/records/r1", carol->h, data, &r);
	assert_error(&r, 403, 121);
	http_resp_free(&r);
	http_request("GET", "/v1/buckets/default", carol->h, NULL, &r);
	assert_error(&r, 403, 121);
	http_resp_free(&r);
	http_request("PUT", "/v1/buckets/default/collections/c2", carol->h, "{}", &r);
	assert_error(&r, 403, 121);
	http_resp_free(&r);
	http_request("POST", "/v1/batch", carol->h, batch, &r);
	assert_status(&r, 200);
	for (size_t i = 0; i < 2; i++) {
		json_object *s = json_object_array_get_idx(resp_json(&r, "responses"), i);
		json_object *st = NULL;

		json_object_object_get_ex(s, "status", &st);
		CHECK(json_object_get_int(st) == 403, "batch sub-request %zu: %s", i, body_snip(&r));
	}
	http_resp_free(&r);
	CHECK(!sees(bob, ru_records(carol->bucket, "notes"), secret),
	      "Bob reads what Carol wrote through /buckets/default");
	CHECK(!sees(bob, ru_record(carol->bucket, "notes", "r1"), secret), "Bob reads r1");
	CHECK(!sees(bob, ru_record(carol->bucket, "notes", "r2"), secret), "Bob reads r2");
}

static void test_takeover(void)
{
	static const enum stand hows[] = { GRANT, LEAVE_WRITE_KEEP_READ, COLLECTION_INSIDE,
					   GRANT_AUTHENTICATED };

	for (size_t i = 0; i < sizeof hows / sizeof *hows; i++) {
		struct user bob, carol;
		char secret[64];

		user_new(&bob, "spbob");
		user_new(&carol, "spcarol");
		unique_id(secret, sizeof secret, "carol-secret-");
		stand(&bob, &carol, hows[i]);
		refused(&bob, &carol, secret);
	}
}

/* A deleted personal bucket forgets its owner: Bob standing one there is refused too. */
static void test_takeover_after_delete(void)
{
	struct user bob, carol;
	char secret[64];

	user_new(&bob, "spbob");
	user_new(&carol, "spcarol");
	AS(&carol, "POST", "/v1/buckets/default/collections/notes/records", "{\"data\": {}}", 201);
	AS(&carol, "DELETE", "/v1/buckets/default", NULL, 200);
	unique_id(secret, sizeof secret, "carol-secret-");
	stand(&bob, &carol, GRANT);
	refused(&bob, &carol, secret);
}

/*
 * With explicit_permissions = false a writer is not re-added to `write`, so
 * Bob can leave his bucket: keeping read is refused like the rest; giving
 * everything away (ACL exactly Carol's write, nothing inside) looks like a
 * bucket from before the ownership record, is adopted, and leaves Bob nothing.
 */
static void test_left_by_its_maker(void)
{
	struct user bob, carol, bob2, carol2;
	char secret[64];

	CU_ASSERT_FATAL(ru_reload("explicit_permissions = false\n"));
	user_new(&bob, "spbob");
	user_new(&carol, "spcarol");
	unique_id(secret, sizeof secret, "carol-secret-");
	AS(&bob, "PUT", ru_bucket(carol.bucket), ru_fmt("{\"permissions\": {\"write\": [\"%s\"], "
							  "\"read\": [\"%s\"]}}", carol.id, bob.id), 201);
	refused(&bob, &carol, secret);

	user_new(&bob2, "spbob");
	user_new(&carol2, "spcarol");
	AS(&bob2, "PUT", ru_bucket(carol2.bucket),
	   ru_fmt("{\"permissions\": {\"write\": [\"%s\"]}}", carol2.id), 201);
	AS(&carol2, "POST", "/v1/buckets/default/collections/notes/records",
	   ru_fmt("{\"data\": {\"secret\": \"%s\"}}", secret), 201);
	AS(&bob2, "GET", ru_records(carol2.bucket, "notes"), NULL, 403);
	AS(&bob2, "GET", ru_bucket(carol2.bucket), NULL, 403);
	CHECK(!sees(&bob2, ru_records(carol2.bucket, "notes"), secret), "Bob reads Carol's record");
	CU_ASSERT(ru_reload_restore());
}

/* Normal first use, by a plain request and by a batch, and a bucket the user made herself. */
static void test_first_use(void)
{
	struct user dave, erin, fay;
	struct http_resp r;

	user_new(&dave, "spdave");
	AS(&dave, "POST", "/v1/buckets/default/collections/notes/records", "{\"data\": {}}", 201);
	AS(&dave, "POST", "/v1/buckets/default/collections/notes/records", "{\"data\": {}}", 201);
	AS(&dave, "PUT", "/v1/buckets/default/collections/other", "{}", 201);
	http_request("GET", "/v1/buckets/default", dave.h, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_str(resp_json(&r, "data"), "id") != NULL &&
		  strcmp(ru_str(resp_json(&r, "data"), "id"), dave.bucket) == 0,
	      "GET /buckets/default: %s", body_snip(&r));
	http_resp_free(&r);

	user_new(&erin, "sperin");
	http_request("POST", "/v1/batch", erin.h,
		     "{\"requests\": [{\"method\": \"POST\", \"path\": \"/buckets/default/"
		     "collections/notes/records\", \"body\": {\"data\": {}}}, {\"path\": "
		     "\"/buckets/default\"}]}", &r);
	assert_status(&r, 200);
	CHECK(r.body && strstr(r.body, "\"status\":201") && strstr(r.body, "\"status\":200"),
	      "first use in a batch: %s", body_snip(&r));
	http_resp_free(&r);
	AS(&erin, "GET", "/v1/buckets/default/collections/notes/records", NULL, 200);

	/* made by its user with nothing but her own write: adopted (buckets from before the check) */
	user_new(&fay, "spfay");
	AS(&fay, "PUT", ru_bucket(fay.bucket), "{}", 201);
	AS(&fay, "POST", "/v1/buckets/default/collections/notes/records", "{\"data\": {}}", 201);
	AS(&fay, "GET", "/v1/buckets/default", NULL, 200);
}

/* The stack sets userid_hmac_secret only: the id is keyed by it, not by an empty key. */
static void test_bucket_id_key(void)
{
	char ini[4096], line[1024], secret[512] = "", hex[65], uuid[40];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct user u;
	FILE *f;

	snprintf(ini, sizeof ini, "%s/pawl.ini", harness_state_dir());
	f = fopen(ini, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof line, f) != NULL) {
		CHECK(strncmp(line, "default_bucket_hmac_secret", 26) != 0, "the stack sets %s", line);
		if (sscanf(line, "userid_hmac_secret = %511s", secret) == 1)
			continue;
	}
	fclose(f);
	CHECK(secret[0] != '\0', "no userid_hmac_secret in %s", ini);
	user_new(&u, "spkey");
	for (int k = 0; k < 2; k++) {
		const char *key = k == 0 ? "" : secret;

		HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)u.id, strlen(u.id),
		     mac, &len);
		for (unsigned i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		snprintf(uuid, sizeof uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
			 hex + 16, hex + 20);
		if (k == 0)
			CHECK(strcmp(uuid, u.bucket) != 0, "user.bucket %s is keyed by an empty secret",
			      u.bucket);
		else
			CHECK(strcmp(uuid, u.bucket) == 0, "user.bucket %s is not keyed by "
			      "userid_hmac_secret (%s)", u.bucket, uuid);
	}
}

/* `pawl-fcgi check` of an ini; returns its exit status, output into out. */
static int pawl_check(const char *ini_text, char *out, size_t size)
{
	char dir[] = "/tmp/pawl-proxy-XXXXXX", path[256], cmd[1024];
	const char *bin = getenv("PAWL_BIN");
	size_t n = 0;
	int status;
	FILE *f, *p;

	out[0] = '\0';
	if (bin == NULL || mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/pawl.ini", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(ini_text, f);
	fclose(f);
	/* -i: none of the stack's PAWL_* overrides */
	snprintf(cmd, sizeof cmd, "env -i '%s' check -c '%s' 2>&1", bin, path);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	rmdir(dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_start_refused(void)
{
	static const char *const no_secret[] = {
		"[app:main]\nstorage_url = dbname=none\n",
		"[app:main]\nuserid_hmac_secret =\ndefault_bucket_hmac_secret =\n",
		"[app:main]\nkinto.userid_hmac_secret = \n",
	};
	char out[4096];
	int rc;

	for (size_t i = 0; i < sizeof no_secret / sizeof *no_secret; i++) {
		rc = pawl_check(no_secret[i], out, sizeof out);
		CHECK(rc == 2 && strstr(out, "'userid_hmac_secret'") &&
			      strstr(out, "'default_bucket_hmac_secret'"),
		      "check of an ini without secrets: exit %d: %s", rc, out);
	}
	rc = pawl_check("[app:main]\nuserid_hmac_secret = s\n", out, sizeof out);
	CHECK(rc == 0, "check with userid_hmac_secret: exit %d: %s", rc, out);
	/* remote_user: basicauth would need userid_hmac_secret too (test_admin.c) */
	rc = pawl_check("[app:main]\nmultiauth.policies = remote_user\ndefault_bucket_hmac_secret = s\n",
			out, sizeof out);
	CHECK(rc == 0, "check with default_bucket_hmac_secret: exit %d: %s", rc, out);
	rc = pawl_check("[app:main]\nuserid_hmac_secret = s\ntrusted_proxies = ::1 10.0.0.0/33\n",
			out, sizeof out);
	CHECK(rc == 2 && strstr(out, "'trusted_proxies'") && strstr(out, "10.0.0.0/33"),
	      "a malformed trusted_proxies entry: exit %d: %s", rc, out);
}

/* --- generated URLs --------------------------------------------------------------------- */

/* Hostile spellings: what an untrusted client sends to steer the URLs. */
static const char *const hostile[][3] = {
	{ "X-Forwarded-Host: evil.example", "X-Forwarded-Proto: javascript", NULL },
	{ "X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https", NULL },
	{ "x-forwarded-host: evil.example:443", "x-forwarded-proto: https", NULL },
	{ "X-Forwarded-Host: evil.example", "X-Forwarded-Host: evil2.example", NULL },
	{ "X-FORWARDED-HOST: evil.example, 127.0.0.1", "X-Forwarded-Proto: https, http", NULL },
	{ "Forwarded: for=1.2.3.4;host=evil.example;proto=https", NULL, NULL },
	{ "X-Forwarded-Host: evil.example", "X-Forwarded-For: 127.0.0.1", NULL },
};

/* hello's url and a Next-Page, with headers h (after u's auth), start with want. */
static void urls_are_at(const struct user *u, const char *list, const char *const *h,
			const char *want, const char *file, unsigned line)
{
	const char *hdrs[5] = { u->auth, h[0], h[0] ? h[1] : NULL, h[0] && h[1] ? h[2] : NULL,
				NULL };
	const char *got;
	struct http_resp r;

	http_request("GET", "/v1/", hdrs, NULL, &r);
	got = ru_str(r.json, "url");
	check_at(got != NULL && strcmp(got, ru_fmt("%s/v1/", want)) == 0, file, line,
		 "hello url with [%s | %s]: %s", h[0] ? h[0] : "", h[0] && h[1] ? h[1] : "",
		 got ? got : body_snip(&r));
	http_resp_free(&r);
	http_request("GET", ru_fmt("%s?_limit=1", list), hdrs, NULL, &r);
	got = resp_header(&r, "Next-Page");
	check_at(got != NULL && strncmp(got, ru_fmt("%s/v1/", want), strlen(want) + 4) == 0, file,
		 line, "Next-Page with [%s]: %s", h[0] ? h[0] : "", got ? got : "(none)");
	http_resp_free(&r);
}
#define URLS_ARE(u, l, h, w) urls_are_at((u), (l), (h), (w), __FILE__, __LINE__)

/* A list of two collections to page through. */
static const char *two_collections(const struct user *u, char *list, size_t size)
{
	char b[64];

	unique_id(b, sizeof b, "spurl");
	AS(u, "PUT", ru_bucket(b), "{}", 201);
	AS(u, "PUT", ru_collection(b, "c1"), "{}", 201);
	AS(u, "PUT", ru_collection(b, "c2"), "{}", 201);
	snprintf(list, size, "/v1/buckets/%s/collections", b);
	return list;
}

static void test_forwarded_untrusted(void)
{
	static const char *const none[3] = { NULL, NULL, NULL };
	char list[256];
	struct user u;

	user_new(&u, "spurl");
	two_collections(&u, list, sizeof list);
	URLS_ARE(&u, list, none, harness_base_url());
	for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++)
		URLS_ARE(&u, list, hostile[i], harness_base_url());
}

/* trusted_proxies: the peer (nginx sees 127.0.0.1) is believed only when listed. */
static void test_forwarded_trusted(void)
{
	static const char *const good[3] = { "X-Forwarded-Host: api.example.org",
					     "X-Forwarded-Proto: https", NULL };
	char list[256];
	struct user u;

	user_new(&u, "spurl");
	two_collections(&u, list, sizeof list);
	CU_ASSERT_FATAL(ru_reload("trusted_proxies = 127.0.0.1 ::1\n"));
	URLS_ARE(&u, list, good, "https://api.example.org");
	URLS_ARE(&u, list, hostile[0], "http://evil.example"); /* a trusted proxy's host, not its scheme */
	CU_ASSERT_FATAL(ru_reload("trusted_proxies = 10.0.0.0/8 fd00::/8\n"));
	URLS_ARE(&u, list, good, harness_base_url());
	CU_ASSERT_FATAL(ru_reload("trusted_proxies = 127.0.0.0/8\nhttp_host = pawl.example\n"
				  "http_scheme = https\n"));
	URLS_ARE(&u, list, good, "https://pawl.example");
	URLS_ARE(&u, list, hostile[1], "https://pawl.example");
	CU_ASSERT_FATAL(ru_reload_restore());
}

/* --- nginx's own refusals --------------------------------------------------------------- */

/* The port of an "http://127.0.0.1:PORT" base URL. */
static int base_port(void)
{
	const char *colon = strrchr(harness_base_url(), ':');

	return colon ? atoi(colon + 1) : 0;
}

/* Sends len raw bytes to 127.0.0.1:port; the whole answer (until close or 5 s) into out. */
static long raw_http(int port, const char *bytes, size_t len, char *out, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { 5, 0 };
	size_t got = 0;
	ssize_t n;
	long status = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	out[0] = '\0';
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, bytes, len) == (ssize_t)len)
		while (got < size - 1 && (n = read(fd, out + got, size - 1 - got)) > 0)
			got += (size_t)n;
	out[got] = '\0';
	close(fd);
	sscanf(out, "HTTP/1.%*d %ld", &status);
	return status;
}

/* A raw answer is a Kinto JSON error document of status/err_no. */
static void raw_json_error_at(const char *what, const char *answer, long status, long want,
			      int err_no, const char *file, unsigned line)
{
	const char *body = strstr(answer, "\r\n\r\n");
	json_object *o = body ? json_tokener_parse(body + 4) : NULL, *code = NULL, *en = NULL;

	check_at(status == want, file, line, "%s: HTTP %ld, expected %ld", what, status, want);
	check_at(strstr(answer, "Content-Type: application/json\r\n") != NULL, file, line,
		 "%s: not application/json: %.300s", what, answer);
	check_at(o != NULL && json_object_object_get_ex(o, "code", &code) &&
			 json_object_get_int(code) == want &&
			 json_object_object_get_ex(o, "errno", &en) && json_object_get_int(en) == err_no,
		 file, line, "%s: not a Kinto error %ld/%d: %.300s", what, want, err_no,
		 body ? body + 4 : answer);
	json_object_put(o);
}
#define RAW_JSON_ERROR(w, a, s, ws, e) \
	raw_json_error_at((w), (a), (s), (ws), (e), __FILE__, __LINE__)

static void test_nginx_too_large(void)
{
	size_t big = 3u << 20;
	char *body = malloc(big);
	char *url = malloc(20001);
	struct http_resp r;

	CU_ASSERT_FATAL(body != NULL && url != NULL);
	memset(body, ' ', big);
	memcpy(body, "{\"data\": {}}", 12);
	for (int chunked = 0; chunked < 2; chunked++) {
		const char *paths[] = { "/v1/buckets", "/v1/buckets/x/collections/y/records", "/elsewhere" };

		for (size_t i = 0; i < 3; i++) {
			http_request_ex("POST", paths[i], (const char *const[]){ ru_auth(), NULL }, body,
					big, chunked, &r);
			assert_error(&r, 413, 113);
			http_resp_free(&r);
		}
	}
	/* the harness caps its URLs: the long request lines go over a raw socket */
	for (size_t i = 0; i < 3; i++) {
		static const char *const starts[] = { "GET /v1/buckets?_x=", "GET /v1/buckets/",
						      "POST /v1/batch?" };
		char out[8192];
		size_t n = strlen(starts[i]);
		long st;

		memset(url, 'a', 20000);
		memcpy(url, starts[i], n);
		memcpy(url + 20000 - 22, " HTTP/1.1\r\nHost: x\r\n\r\n", 22);
		st = raw_http(base_port(), url, 20000, out, sizeof out);
		RAW_JSON_ERROR(starts[i], out, st, 414, 107);
	}
	/* a header over large_client_header_buffers: nginx's 494, answered as a 400 */
	memcpy(url, "X-Big: ", 7);
	url[16000] = '\0';
	http_request("GET", "/v1/", (const char *const[]){ url, NULL }, NULL, &r);
	assert_error(&r, 400, 107);
	http_resp_free(&r);
	free(body);
	free(url);
}

static void test_nginx_bad_request(void)
{
	static const char *const bad[] = {
		"GET /v1/ HTTP/1.1\r\n\r\n",                              /* no Host */
		"GET /v1/ HTTP/1.1 junk\r\nHost: x\r\n\r\n",
		"G\x01T /v1/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
		"GET /v1/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"POST /v1/buckets HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /v1/buckets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	};
	char out[8192];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		long st = raw_http(base_port(), bad[i], strlen(bad[i]), out, sizeof out);

		RAW_JSON_ERROR(ru_fmt("raw request %zu", i), out, st, i == 6 ? 501 : 400, 107);
	}
}

/* A free loopback port, or -1. */
static int free_port(void)
{
	int port = -1;

	return harness_free_ports(&port, 1) == 0 ? port : -1;
}

/*
 * The shipped pawl.conf in a second nginx whose upstream socket nobody
 * listens on: what a client sees while every worker is down (502). The
 * shared stack keeps its workers.
 */
static void test_nginx_no_worker(void)
{
	char dir[] = "/tmp/pawl-proxy-XXXXXX", conf[256], link[256], out[8192];
	const char *src = getenv("PAWL_SRCDIR");
	char srcdir[4096];
	int port = free_port(), tries;
	long st = 0;
	pid_t pid;
	FILE *f;

	CU_ASSERT_FATAL(port > 0 && mkdtemp(dir) != NULL);
	CU_ASSERT_FATAL(realpath(src ? src : ".", srcdir) != NULL);
	snprintf(link, sizeof link, "%s/pawl", dir);
	CU_ASSERT_FATAL(symlink(ru_fmt("%s/nginx", srcdir), link) == 0);
	snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
	f = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%s\nworker_processes 1;\ndaemon off;\npid %s/nginx.pid;\n"
		"error_log %s/error.log;\nevents { worker_connections 64; }\n"
		"http {\n access_log off;\n client_body_temp_path %s;\n fastcgi_temp_path %s;\n"
		" upstream pawl_fcgi { server unix:%s/nobody.sock; }\n"
		" server {\n  listen 127.0.0.1:%d;\n  server_name localhost;\n"
		"  include pawl/pawl.conf;\n }\n}\n",
		geteuid() == 0 ? "user root root;" : "", dir, dir, dir, dir, dir, port);
	fclose(f);
	pid = fork();
	if (pid == 0) {
		execlp("nginx", "nginx", "-q", "-p", ru_fmt("%s/", dir), "-e",
		       ru_fmt("%s/error.log", dir), "-c", conf, (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_FATAL(pid > 0);
	for (tries = 0; tries < 100 && st == 0; tries++) {
		static const char get[] = "GET /v1/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

		sleep_ms(50);
		st = raw_http(port, get, sizeof get - 1, out, sizeof out);
	}
	RAW_JSON_ERROR("GET /v1/ with no worker listening", out, st, 502, 201);
	st = raw_http(port, "POST /v1/buckets HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
			    "Connection: close\r\n\r\n{}", 86, out, sizeof out);
	RAW_JSON_ERROR("POST /v1/buckets with no worker listening", out, st, 502, 201);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(link);
	unlink(conf);
	unlink(ru_fmt("%s/error.log", dir));
	unlink(ru_fmt("%s/nginx.pid", dir));
	if (system(ru_fmt("rm -rf '%s'", dir)) != 0)
		CHECK(false, "could not remove %s", dir);
}

/* --- registration ----------------------------------------------------------------------- */

static int suite_init(void)
{
	ru_login("security-proxy", "security-proxy-password");
	return 0;
}

static int suite_clean(void)
{
	return ru_reload_restore() ? 0 : -1;
}

void test_security_proxy_register(void)
{
	CU_pSuite s = CU_add_suite("security: default bucket, proxies, nginx errors", suite_init,
				   suite_clean);

	CU_add_test(s, "a bucket stood under my personal id is refused", test_takeover);
	CU_add_test(s, "... also after I deleted mine", test_takeover_after_delete);
	CU_add_test(s, "first use of /buckets/default, plain and batch", test_first_use);
	CU_add_test(s, "explicit_permissions = false: a bucket its maker left", test_left_by_its_maker);
	CU_add_test(s, "the personal id is keyed by userid_hmac_secret", test_bucket_id_key);
	CU_add_test(s, "no secret: pawl-fcgi check refuses the config", test_start_refused);
	CU_add_test(s, "X-Forwarded-* from an untrusted peer are ignored", test_forwarded_untrusted);
	CU_add_test(s, "trusted_proxies, http_host, http_scheme", test_forwarded_trusted);
	CU_add_test(s, "nginx 413/414/494 in Kinto JSON", test_nginx_too_large);
	CU_add_test(s, "nginx 400 on malformed requests in Kinto JSON", test_nginx_bad_request);
	CU_add_test(s, "nginx 502 with no worker in Kinto JSON", test_nginx_no_worker);
}

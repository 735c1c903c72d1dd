/*
 * Kinto's accounts API (README "Accounts"): /v1/accounts and the `account`
 * policy, tried before basicauth in the stack (multiauth.policies = account
 * basicauth), so a wrong password falls back to a basicauth identity as in
 * Kinto. account:admin is in account_write_principals (harness extra.ini).
 * Passwords must never show in an answer, an event or the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "resource_util.h"

#define PW1 "Corr3ct-horse-1"
#define PW2 "Batt3ry-staple-2"
#define PW3 "Tr0ub4dor-3"
#define ADMIN_PW "Adm1n-pw-for-tests"

static char alice[64], bob[64];

/* One request as user:password (user NULL: anonymous). */
static void as(struct http_resp *r, const char *user, const char *pw, const char *method,
	       const char *path, const char *body)
{
	char auth[512];
	const char *h[3] = { NULL, NULL, NULL };
	size_t n = 0;

	if (user != NULL) {
		basic_auth(auth, sizeof auth, user, pw);
		h[n++] = auth;
	}
	if (body != NULL)
		h[n++] = "Content-Type: application/json";
	http_request(method, path, h, body, r);
}

/* No password, clear or hashed, in an answer. */
static void no_secret_at(const struct http_resp *r, const char *file, unsigned line)
{
	static const char *const secrets[] = { PW1, PW2, PW3, ADMIN_PW, "\"password\"", "$y$" };

	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
		check_at(strstr(r->body, secrets[i]) == NULL, file, line, "%s: %s in the answer: %.300s",
			 r->what, secrets[i], r->body);
}
#define no_secret(r) no_secret_at((r), __FILE__, __LINE__)

/* user.id of GET /v1/ as user:pw ("" when anonymous), in a static ring. */
static const char *whoami(const char *user, const char *pw)
{
	static char ring[4][256];
	static unsigned next;
	char *out = ring[next++ % 4];
	struct http_resp r;
	const char *id;

	as(&r, user, pw, "GET", "/v1/", NULL);
	id = ru_str(resp_json(&r, "user"), "id");
	snprintf(out, sizeof ring[0], "%s", id ? id : "");
	http_resp_free(&r);
	return out;
}

static long status_as(const char *user, const char *pw, const char *method, const char *path,
		      const char *body)
{
	struct http_resp r;
	long status;

	as(&r, user, pw, method, path, body);
	no_secret(&r);
	status = r.status;
	http_resp_free(&r);
	return status;
}

static int suite_init(void)
{
	struct http_resp r;
	int rc;

	unique_id(alice, sizeof alice, "alice");
	unique_id(bob, sizeof bob, "bob");
	/* The administrator of account_write_principals, created by an anonymous PUT. */
	as(&r, NULL, NULL, "PUT", "/v1/accounts/admin", "{\"data\":{\"password\":\"" ADMIN_PW "\"}}");
	rc = r.status == 201 || r.status == 401 ? 0 : -1; /* 401: made by an earlier suite run */
	http_resp_free(&r);
	return rc;
}

static void test_capability(void)
{
	struct http_resp r;

	http_request("GET", "/v1/", NULL, NULL, &r);
	assert_status(&r, 200);
	CHECK(resp_json(&r, "capabilities.accounts") != NULL, "no accounts capability: %s",
	      body_snip(&r));
	CHECK(resp_json(&r, "capabilities.basicauth") != NULL, "basicauth capability gone");
	http_resp_free(&r);
}

static void test_create(void)
{
	struct http_resp r;

	/* Anonymous POST with data.id and data.password (account_create_principals: Everyone). */
	as(&r, NULL, NULL, "POST", "/v1/accounts",
	   ru_fmt("{\"data\":{\"id\":\"%s\",\"password\":\"" PW1 "\"}}", alice));
	assert_status(&r, 201);
	CHECK(strcmp(ru_str(resp_json(&r, "data"), "id") ?: "", alice) == 0, "id: %s",
	      body_snip(&r));
	no_secret(&r);
	http_resp_free(&r);
	/* PUT creates too. */
	as(&r, NULL, NULL, "PUT", ru_fmt("/v1/accounts/%s", bob),
	   "{\"data\":{\"password\":\"" PW1 "\"}}");
	assert_status(&r, 201);
	no_secret(&r);
	http_resp_free(&r);
	/* Created twice: the account is its own, a stranger gets no say. */
	CHECK(status_as(NULL, NULL, "PUT", ru_fmt("/v1/accounts/%s", bob),
			"{\"data\":{\"password\":\"x\"}}") == 401, "anonymous PUT over an account");
	CHECK(status_as(NULL, NULL, "POST", "/v1/accounts",
			ru_fmt("{\"data\":{\"id\":\"%s\",\"password\":\"x\"}}", bob)) == 401,
	      "anonymous POST of an existing account");
	CHECK(strcmp(whoami(bob, PW1), ru_fmt("account:%s", bob)) == 0, "bob's password changed");
}

static void test_invalid(void)
{
	static const char *const bodies[] = {
		"{\"data\":{}}", "{\"data\":{\"password\":\"\"}}", "{\"data\":{\"password\":42}}",
		"{\"data\":{\"password\":null}}", "{\"permissions\":{}, \"data\":{\"pw\":\"a\"}}",
	};
	struct http_resp r;

	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		as(&r, NULL, NULL, "PUT", ru_fmt("/v1/accounts/nopw%zu", i), bodies[i]);
		assert_error(&r, 400, 107);
		CHECK(strcmp(ru_detail_location(&r) ?: "", "body") == 0, "%s", body_snip(&r));
		http_resp_free(&r);
	}
	as(&r, NULL, NULL, "POST", "/v1/accounts", "{\"data\":{\"password\":\"" PW1 "\"}}");
	assert_error(&r, 400, 107); /* no data.id: no user name */
	http_resp_free(&r);
	/* A filter or a sort on the hash would reveal it to whoever lists. */
	as(&r, alice, PW1, "GET", "/v1/accounts?_sort=password", NULL);
	assert_error(&r, 400, 107);
	http_resp_free(&r);
	as(&r, alice, PW1, "GET", "/v1/accounts?gt_password=%24y", NULL);
	assert_error(&r, 400, 107);
	http_resp_free(&r);
}

/*
 * Whether two error answers say the same, their request ids aside (each
 * request has its own): nothing tells a wrong password from an unknown user.
 */
static bool same_answer(const struct http_resp *a, const struct http_resp *b)
{
	if (a->json == NULL || b->json == NULL)
		return strcmp(a->body, b->body) == 0;
	json_object_object_del(a->json, "request_id");
	json_object_object_del(b->json, "request_id");
	/* Each string lives in its own object's buffer: both stay valid here. */
	return strcmp(json_object_to_json_string_ext(a->json, JSON_C_TO_STRING_PLAIN),
		      json_object_to_json_string_ext(b->json, JSON_C_TO_STRING_PLAIN)) == 0;
}

static void test_login(void)
{
	struct http_resp r, unknown;

	CHECK(strcmp(whoami(alice, PW1), ru_fmt("account:%s", alice)) == 0, "login: %s",
	      whoami(alice, PW1));
	/* A wrong password and an unknown user: the same fallback (basicauth), the same answer. */
	CHECK(strncmp(whoami(alice, "wrong"), "basicauth:", 10) == 0, "wrong password: %s",
	      whoami(alice, "wrong"));
	as(&r, alice, "wrong", "GET", ru_fmt("/v1/accounts/%s", alice), NULL);
	as(&unknown, "nosuchaccount", "wrong", "GET", ru_fmt("/v1/accounts/%s", alice), NULL);
	assert_error(&r, 403, 121);
	assert_error(&unknown, 403, 121);
	CHECK(same_answer(&r, &unknown), "answers differ: %s vs %s", r.body, unknown.body);
	http_resp_free(&r);
	http_resp_free(&unknown);
	/* Her own account: readable, without the password. */
	as(&r, alice, PW1, "GET", ru_fmt("/v1/accounts/%s", alice), NULL);
	assert_status(&r, 200);
	no_secret(&r);
	http_resp_free(&r);
}

static void test_others(void)
{
	char path[RU_PATH_LEN];
	struct http_resp r;

	snprintf(path, sizeof path, "/v1/accounts/%s", alice); /* ru_fmt's ring is short-lived */
	CHECK(status_as(bob, PW1, "GET", path, NULL) == 403, "bob reads alice");
	CHECK(status_as(bob, PW1, "PATCH", path, "{\"data\":{\"password\":\"x\"}}") == 403,
	      "bob patches alice");
	CHECK(status_as(bob, PW1, "PUT", path, "{\"data\":{\"password\":\"x\"}}") == 403,
	      "bob replaces alice");
	CHECK(status_as(bob, PW1, "DELETE", path, NULL) == 403, "bob deletes alice");
	CHECK(status_as(NULL, NULL, "DELETE", path, NULL) == 401, "anonymous deletes alice");
	/* Kinto: a signed-in user creates only the account of their own name. */
	CHECK(status_as(bob, PW1, "PUT", ru_fmt("/v1/accounts/%s-other", bob),
			"{\"data\":{\"password\":\"x\"}}") == 400, "bob creates another name by PUT");
	CHECK(status_as(bob, PW1, "POST", "/v1/accounts",
			ru_fmt("{\"data\":{\"id\":\"%s-other\",\"password\":\"x\"}}", bob)) == 400,
	      "bob creates another name by POST");
	CHECK(status_as("admin", ADMIN_PW, "PUT", ru_fmt("/v1/accounts/%s-admin-made", bob),
			"{\"data\":{\"password\":\"x\"}}") == 201, "the administrator creates any name");
	/* A user lists only their own account. */
	as(&r, bob, PW1, "GET", "/v1/accounts", NULL);
	assert_status(&r, 200);
	CHECK(strcmp(ru_ids_csv(&r, true), bob) == 0, "bob lists %s", ru_ids_csv(&r, true));
	no_secret(&r);
	http_resp_free(&r);
	/* The administrator sees and manages every account. */
	as(&r, "admin", ADMIN_PW, "GET", "/v1/accounts", NULL);
	assert_status(&r, 200);
	CHECK(strstr(ru_ids_csv(&r, true), alice) && strstr(ru_ids_csv(&r, true), bob),
	      "admin lists %s", ru_ids_csv(&r, true));
	no_secret(&r);
	http_resp_free(&r);
	CHECK(status_as("admin", ADMIN_PW, "GET", path, NULL) == 200, "admin reads alice");
	CHECK(status_as("admin", ADMIN_PW, "PATCH", ru_fmt("/v1/accounts/%s", bob),
			"{\"data\":{\"password\":\"" PW3 "\"}}") == 200, "admin sets bob's password");
	CHECK(strcmp(whoami(bob, PW3), ru_fmt("account:%s", bob)) == 0, "bob's new password");
}

/* Every worker answers at least twice in 4 * workers requests (one connection each). */
static unsigned logins(const char *user, const char *pw)
{
	unsigned ok = 0;
	int n = 4 * harness_workers();

	for (int i = 0; i < n; i++)
		ok += strcmp(whoami(user, pw), ru_fmt("account:%s", user)) == 0;
	return ok;
}

static void test_change_password(void)
{
	unsigned n = 4 * (unsigned)harness_workers();
	char path[RU_PATH_LEN];
	struct http_resp r;

	snprintf(path, sizeof path, "/v1/accounts/%s", alice);
	/* Every worker has verified (and cached) the old password... */
	CHECK(logins(alice, PW1) == n, "old password before the change");
	as(&r, alice, PW1, "PATCH", path, "{\"data\":{\"password\":\"" PW2 "\"}}");
	assert_status(&r, 200);
	no_secret(&r);
	http_resp_free(&r);
	/* ...and none accepts it once it changed: the cache follows the stored hash. */
	CHECK(logins(alice, PW1) == 0, "old password still accepted after PATCH");
	CHECK(logins(alice, PW2) == n, "new password refused after PATCH");
	/* PUT replaces the account, password included. */
	as(&r, alice, PW2, "PUT", path, "{\"data\":{\"password\":\"" PW3 "\"}}");
	assert_status(&r, 200);
	no_secret(&r);
	http_resp_free(&r);
	CHECK(logins(alice, PW2) == 0, "old password still accepted after PUT");
	CHECK(logins(alice, PW3) == n, "new password refused after PUT");
}

static void test_delete(void)
{
	char path[RU_PATH_LEN];

	snprintf(path, sizeof path, "/v1/accounts/%s", alice);
	CHECK(logins(alice, PW3) == 4 * (unsigned)harness_workers(), "login before delete");
	CHECK(status_as(alice, PW3, "DELETE", path, NULL) == 200, "delete own account");
	CHECK(logins(alice, PW3) == 0, "login after delete");
	CHECK(status_as(alice, PW3, "GET", path, NULL) == 403, "read after delete");
	CHECK(status_as("admin", ADMIN_PW, "GET", path, NULL) == 404, "admin reads a deleted account");
}

/* Whether the stack's log holds needle. */
static bool log_has(const char *needle)
{
	char path[4096];
	char *buf;
	long len;
	bool found;
	FILE *f;

	snprintf(path, sizeof path, "%s/log/pawl.log", harness_state_dir());
	if ((f = fopen(path, "r")) == NULL)
		return false;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	found = buf != NULL && fread(buf, 1, (size_t)len, f) == (size_t)len && strstr(buf, needle);
	free(buf);
	fclose(f);
	return found;
}

static void test_log(void)
{
	CHECK(!log_has(PW1) && !log_has(PW2) && !log_has(PW3) && !log_has(ADMIN_PW),
	      "a password is in log/pawl.log");
	CHECK(!log_has("$y$"), "a password hash is in log/pawl.log");
}

/* With `account` alone, a wrong password is no identity at all: 401 as for anyone. */
static void test_account_only(void)
{
	struct http_resp r, unknown;
	char path[RU_PATH_LEN];

	snprintf(path, sizeof path, "/v1/accounts/%s", bob);
	if (!ru_reload_edit("multiauth.policies = account basicauth", "multiauth.policies = account")) {
		CHECK(false, "reload with multiauth.policies = account failed");
		ru_reload_restore();
		return;
	}
	CHECK(strcmp(whoami(bob, PW3), ru_fmt("account:%s", bob)) == 0, "login, account only");
	CHECK(strcmp(whoami(bob, "wrong"), "") == 0, "wrong password, account only");
	as(&r, bob, "wrong", "GET", path, NULL);
	as(&unknown, "nosuchaccount", "wrong", "GET", path, NULL);
	assert_error(&r, 401, 104);
	assert_error(&unknown, 401, 104);
	CHECK(same_answer(&r, &unknown), "answers differ: %s vs %s", r.body, unknown.body);
	http_resp_free(&r);
	http_resp_free(&unknown);
	CHECK(ru_reload_restore(), "restoring the config failed");
}

/*
 * pawl-fcgi accounts VERB -c pawl.ini ID [EXTRA], password (NULL: none) on
 * its standard input; returns the exit status (-1 when it did not run). A
 * clean environment but for the listeners the stack's workers are given.
 */
static int cli(const char *verb, const char *id, const char *extra, const char *password)
{
	char cmd[8192];
	FILE *p;
	int st;

	const char *listeners = getenv("PAWL_EVENT_LISTENERS"); /* the workers' override */

	snprintf(cmd, sizeof cmd, "env -i PATH=/usr/bin:/bin PAWL_EVENT_LISTENERS='%s' '%s' accounts %s "
		 "-c '%s/pawl.ini' %s %s >/dev/null 2>&1", listeners ? listeners : "",
		 getenv("PAWL_BIN"), verb, harness_state_dir(), id, extra ? extra : "");
	if ((p = popen(cmd, "w")) == NULL)
		return -1;
	if (password != NULL)
		fprintf(p, "%s\n", password);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void)
{
	char carol[64];
	const char *who;

	unique_id(carol, sizeof carol, "carol");
	CHECK(cli("create", carol, NULL, PW1) == 0, "accounts create");
	who = whoami(carol, PW1);
	CHECK(strcmp(who, ru_fmt("account:%s", carol)) == 0, "login after create: %s", who);
	CHECK(cli("create", carol, NULL, PW2) == 1, "create over an existing account");
	CHECK(strcmp(whoami(carol, PW1), ru_fmt("account:%s", carol)) == 0, "password kept");
	/* The account is its own: it reads itself, a hash never shows. */
	CHECK(status_as(carol, PW1, "GET", ru_fmt("/v1/accounts/%s", carol), NULL) == 200,
	      "the account reads itself");
	CHECK(cli("set-password", carol, NULL, PW2) == 0, "accounts set-password");
	CHECK(logins(carol, PW1) == 0, "old password after set-password");
	CHECK(logins(carol, PW2) == 4 * (unsigned)harness_workers(), "new password after set-password");
	/* Never a password in argv: an extra operand is a usage error. */
	CHECK(cli("set-password", carol, PW3, PW3) == 2, "password as an argument accepted");
	CHECK(cli("set-password", carol, NULL, "") == 2, "empty password accepted");
	CHECK(cli("set-password", "no:such", NULL, PW3) == 2, "invalid id accepted");
	CHECK(cli("set-password", "nosuchaccount", NULL, PW3) == 1, "set-password of nobody");
	CHECK(cli("delete", carol, NULL, NULL) == 0, "accounts delete");
	CHECK(logins(carol, PW2) == 0, "login after delete");
	CHECK(cli("delete", carol, NULL, NULL) == 1, "delete twice");
}

/* account_failures_per_minute: past the limit a worker stops checking that name. */
static void test_failures(void)
{
	unsigned n = 4 * (unsigned)harness_workers();
	char dave[64];

	unique_id(dave, sizeof dave, "dave");
	CHECK(status_as(NULL, NULL, "PUT", ru_fmt("/v1/accounts/%s", dave),
			"{\"data\":{\"password\":\"" PW1 "\"}}") == 201, "create dave");
	if (!ru_reload("\naccount_failures_per_minute = 3\n")) {
		CHECK(false, "reload with account_failures_per_minute = 3 failed");
		ru_reload_restore();
		return;
	}
	CHECK(logins(dave, PW1) == n, "login before any failure");
	/*
	 * The count is each worker's own, and nginx's connections do not go to
	 * the workers in turn (an idle worker woken by EPOLLEXCLUSIVE may take
	 * most of them): rounds of failures until every worker that still
	 * answers has seen enough. Without the limit no round would do.
	 */
	for (unsigned round = 0, left = 1; left > 0; round++) {
		for (unsigned i = 0; i < 3 * n; i++)
			CHECK(strcmp(whoami(dave, ru_fmt("wrong%u", i)), ru_fmt("account:%s", dave)) != 0,
			      "a wrong password accepted");
		left = logins(dave, PW1);
		if (left > 0 && round == 9) {
			CHECK(false, "the right password still checked after %u failures (%u of %u "
			      "logins)", 30 * n, left, n);
			break;
		}
	}
	CHECK(strcmp(whoami(bob, PW3), ru_fmt("account:%s", bob)) == 0, "another account locked");
	CHECK(ru_reload_restore(), "restoring the config failed");
	/* Without the setting (the default), failures never stop a good password. */
	for (unsigned i = 0; i < 3 * n; i++)
		whoami(dave, "wrong");
	CHECK(logins(dave, PW1) == n, "login refused without account_failures_per_minute");
}

void test_accounts_register(void)
{
	CU_pSuite s = CU_add_suite("accounts", suite_init, NULL);

	CU_add_test(s, "capability accounts", test_capability);
	CU_add_test(s, "create: anonymous POST, PUT, duplicates", test_create);
	CU_add_test(s, "invalid bodies and queries", test_invalid);
	CU_add_test(s, "login, wrong password like an unknown user", test_login);
	CU_add_test(s, "users, other users, administrators", test_others);
	CU_add_test(s, "password change on every worker (cache)", test_change_password);
	CU_add_test(s, "delete", test_delete);
	CU_add_test(s, "pawl-fcgi accounts create, set-password, delete", test_cli);
	CU_add_test(s, "account only: 401 for a wrong password", test_account_only);
	CU_add_test(s, "account_failures_per_minute", test_failures);
	CU_add_test(s, "no password in the log", test_log);
}

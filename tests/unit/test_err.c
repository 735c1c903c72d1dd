/*
 * Unit tests for app/core/err.c: the code -> status/errno/title table checked
 * row by row against Kinto's errno table (docs/protocol.md §7), and the
 * functions that fill a struct pawl_error.
 */
#include <ctype.h>
#include <string.h>

#include "core/err.h"
#include "store/pg.h"
#include "http/response.h"
#include "unit.h"

static const struct {
	enum pawl_err code;
	int status;
	int errno_;
	const char *title;
} expected[] = {
	{ PAWL_OK, 200, 0, "OK" },
	{ PAWL_ERR_INVALID, 400, 107, "Invalid parameters" },         /* INVALID_PARAMETERS */
	{ PAWL_ERR_UNAUTHORIZED, 401, 104, "Unauthorized" },          /* MISSING_AUTH_TOKEN */
	{ PAWL_ERR_FORBIDDEN, 403, 121, "Forbidden" },                /* FORBIDDEN */
	{ PAWL_ERR_NOT_FOUND, 404, 111, "Not Found" },                /* MISSING_RESOURCE */
	{ PAWL_ERR_NO_OBJECT, 404, 110, "Not Found" },                /* INVALID_RESOURCE_ID */
	{ PAWL_ERR_VERSION, 404, 116, "Not Found" },                  /* VERSION_NOT_AVAILABLE */
	{ PAWL_ERR_METHOD, 405, 115, "Method Not Allowed" },          /* METHOD_NOT_ALLOWED */
	{ PAWL_ERR_NOT_ACCEPTABLE, 406, 107, "Invalid parameters" },  /* Accept -> 406/107 */
	{ PAWL_ERR_CONFLICT, 409, 122, "Conflict" },                  /* CONSTRAINT_VIOLATED */
	{ PAWL_ERR_GONE, 410, 202, "Gone" },                          /* SERVICE_DEPRECATED */
	{ PAWL_ERR_PRECONDITION, 412, 114, "Precondition Failed" },   /* MODIFIED_MEANWHILE */
	{ PAWL_ERR_TOO_LARGE, 413, 113, "Request Entity Too Large" }, /* REQUEST_TOO_LARGE */
	{ PAWL_ERR_MEDIA_TYPE, 415, 107, "Invalid parameters" },      /* Content-Type -> 415/107 */
	{ PAWL_ERR_INTERNAL, 500, 999, "Internal Server Error" },     /* UNDEFINED */
	{ PAWL_ERR_BACKEND, 503, 201, "Service Unavailable" },        /* BACKEND */
	{ PAWL_ERR_NOMEM, 500, 999, "Internal Server Error" },
	{ PAWL_ERR_IO, 500, 999, "Internal Server Error" },
	{ PAWL_ERR_CONFIG, 500, 999, "Internal Server Error" },
	{ PAWL_ERR_TIMEOUT, 503, 201, "Service Unavailable" },
};

#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static void test_table_every_code(void)
{
	size_t i;

	CU_ASSERT_EQUAL_FATAL(NEXPECTED, (size_t)PAWL_ERR__COUNT);
	for (i = 0; i < NEXPECTED; i++) {
		CU_ASSERT_EQUAL(expected[i].code, (enum pawl_err)i);
		CU_ASSERT_EQUAL(pawl_err_status(expected[i].code), expected[i].status);
		CU_ASSERT_EQUAL(pawl_err_errno(expected[i].code), expected[i].errno_);
		CU_ASSERT_STRING_EQUAL(pawl_err_title(expected[i].code), expected[i].title);
	}
}

static void test_names_unique(void)
{
	size_t i, j;

	for (i = 0; i < (size_t)PAWL_ERR__COUNT; i++) {
		const char *a = pawl_err_name((enum pawl_err)i);

		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		CU_ASSERT(a[0] != '\0');
		for (j = 0; j < i; j++)
			CU_ASSERT(strcmp(a, pawl_err_name((enum pawl_err)j)) != 0);
	}
	CU_ASSERT_STRING_EQUAL(pawl_err_name(PAWL_ERR_INVALID), "invalid");
	CU_ASSERT_STRING_EQUAL(pawl_err_name(PAWL_ERR_BACKEND), "backend");
}

static void test_out_of_range_is_internal(void)
{
	CU_ASSERT_EQUAL(pawl_err_status(PAWL_ERR__COUNT), 500);
	CU_ASSERT_EQUAL(pawl_err_errno(PAWL_ERR__COUNT), 999);
	CU_ASSERT_EQUAL(pawl_err_status((enum pawl_err)-1), 500);
	CU_ASSERT_STRING_EQUAL(pawl_err_title((enum pawl_err)1000), "Internal Server Error");
}

static void test_error_set(void)
{
	struct pawl_error err;
	enum pawl_err rc;

	pawl_error_invalid(&err, PAWL_ERR_INVALID, "body", "x", "stale");
	rc = pawl_error_set(&err, PAWL_ERR_BACKEND, "db %s after %d tries", "down", 3);
	CU_ASSERT_EQUAL(rc, PAWL_ERR_BACKEND);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_BACKEND);
	CU_ASSERT_STRING_EQUAL(err.message, "db down after 3 tries");
	CU_ASSERT_PTR_NULL(err.location); /* previous validation fields are cleared */
	CU_ASSERT_STRING_EQUAL(err.name, "");
	CU_ASSERT_PTR_NULL(err.details);
}

static void test_error_nomem(void)
{
	struct pawl_error err;

	pawl_error_invalid(&err, PAWL_ERR_INVALID, "body", "x", "stale");
	CU_ASSERT_EQUAL(pawl_error_nomem(&err), PAWL_ERR_NOMEM);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_NOMEM);
	CU_ASSERT_STRING_EQUAL(err.message, "out of memory");
	CU_ASSERT_PTR_NULL(err.location);
	CU_ASSERT_EQUAL(pawl_err_status(err.code), 500);
}

static void test_error_set_truncates(void)
{
	struct pawl_error err;
	char longmsg[2 * PAWL_ERROR_MESSAGE_MAX];

	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	pawl_error_set(&err, PAWL_ERR_INTERNAL, "%s", longmsg);
	CU_ASSERT_EQUAL(strlen(err.message), PAWL_ERROR_MESSAGE_MAX - 1);
}

static void test_error_invalid(void)
{
	struct pawl_error err;
	char longname[300];
	enum pawl_err rc;

	rc = pawl_error_invalid(&err, PAWL_ERR_INVALID, "querystring", "_limit",
	    "%s is not an integer", "abc");
	CU_ASSERT_EQUAL(rc, PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.location, "querystring");
	CU_ASSERT_STRING_EQUAL(err.name, "_limit");
	CU_ASSERT_STRING_EQUAL(err.message, "abc is not an integer");
	CU_ASSERT_PTR_NULL(err.details);

	rc = pawl_error_invalid(&err, PAWL_OK, "body", NULL, "Invalid JSON");
	CU_ASSERT_EQUAL(rc, PAWL_ERR_INVALID); /* PAWL_OK means the default code */
	CU_ASSERT_STRING_EQUAL(err.name, "");

	rc = pawl_error_invalid(&err, PAWL_ERR_MEDIA_TYPE, "header", "Content-Type", "bad");
	CU_ASSERT_EQUAL(rc, PAWL_ERR_MEDIA_TYPE);
	CU_ASSERT_EQUAL(pawl_err_status(rc), 415);

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	pawl_error_invalid(&err, PAWL_ERR_INVALID, "body", longname, "x");
	CU_ASSERT_EQUAL(strlen(err.name), sizeof(err.name) - 1);
}

static void test_error_clear(void)
{
	struct pawl_error err;

	pawl_error_invalid(&err, PAWL_ERR_INVALID, "path", "id", "bad id");
	err.details = "[]";
	pawl_error_clear(&err);
	CU_ASSERT_EQUAL(err.code, PAWL_OK);
	CU_ASSERT_STRING_EQUAL(err.message, "");
	CU_ASSERT_PTR_NULL(err.location);
	CU_ASSERT_STRING_EQUAL(err.name, "");
	CU_ASSERT_PTR_NULL(err.details);
}

static void test_reason_phrases(void)
{
	static const struct {
		int status;
		const char *reason;
	} r[] = {
		{ 200, "OK" }, { 201, "Created" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 409, "Conflict" }, { 410, "Gone" },
		{ 412, "Precondition Failed" }, { 413, "Request Entity Too Large" },
		{ 415, "Unsupported Media Type" }, { 500, "Internal Server Error" },
		{ 503, "Service Unavailable" },
	};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		CU_ASSERT_STRING_EQUAL(pawl_err_reason(r[i].status), r[i].reason);
	CU_ASSERT_STRING_EQUAL(pawl_err_reason(0), "Unknown");
	CU_ASSERT_STRING_EQUAL(pawl_err_reason(299), "Unknown");
	CU_ASSERT_STRING_EQUAL(pawl_err_reason(-1), "Unknown");
}

/* Every SQLSTATE class pawl can meet gets a Kinto error, never its code in the text. */
static void test_sqlstate_mapping(void)
{
	static const struct {
		const char *state;
		enum pawl_err code;
	} r[] = {
		{ "22003", PAWL_ERR_INVALID }, { "22P02", PAWL_ERR_INVALID },
		{ "22P05", PAWL_ERR_INVALID }, { "22001", PAWL_ERR_INVALID },
		{ "23505", PAWL_ERR_CONFLICT }, { "23503", PAWL_ERR_CONFLICT },
		{ "40001", PAWL_ERR_CONFLICT }, { "40P01", PAWL_ERR_CONFLICT },
		{ "55P03", PAWL_ERR_CONFLICT }, { "57014", PAWL_ERR_TIMEOUT },
		{ "57P01", PAWL_ERR_BACKEND }, { "08006", PAWL_ERR_BACKEND },
		{ "53100", PAWL_ERR_BACKEND }, { "53200", PAWL_ERR_BACKEND },
		{ "25006", PAWL_ERR_BACKEND }, { "42P01", PAWL_ERR_INTERNAL },
		{ "XX000", PAWL_ERR_INTERNAL }, { "P0001", PAWL_ERR_INTERNAL },
		{ "0A000", PAWL_ERR_INTERNAL }, { NULL, PAWL_ERR_BACKEND },
		{ "5", PAWL_ERR_BACKEND },
	};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		const char *msg = NULL;

		CU_ASSERT_EQUAL(pawl_pg_sqlstate_error(r[i].state, &msg), r[i].code);
		CU_ASSERT_EQUAL(pawl_pg_map_sqlstate(r[i].state), r[i].code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		CU_ASSERT(strstr(msg, "database error") == NULL);
		CU_ASSERT(r[i].state == NULL || strstr(msg, r[i].state) == NULL);
		for (const char *p = msg; *p != '\0'; p++)
			CU_ASSERT(!isdigit((unsigned char)*p));
	}
	CU_ASSERT(pawl_pg_sqlstate_lost("08006"));
	CU_ASSERT(pawl_pg_sqlstate_lost("57P01"));
	CU_ASSERT(pawl_pg_sqlstate_lost(NULL));
	CU_ASSERT(!pawl_pg_sqlstate_lost("57014"));
	CU_ASSERT(!pawl_pg_sqlstate_lost("53100"));
	CU_ASSERT(!pawl_pg_sqlstate_lost("23505"));
	/* A read-only session (a standby, a demoted primary) is dropped to find the primary. */
	CU_ASSERT(pawl_pg_sqlstate_lost("25006"));
	CU_ASSERT(!pawl_pg_sqlstate_lost("25P02"));
	CU_ASSERT_STRING_EQUAL(pawl_pg_default_session_attrs(false), "read-write");
	CU_ASSERT_STRING_EQUAL(pawl_pg_default_session_attrs(true), "any");
	/* A lost COMMIT is asked about only where it went: not across a failover. */
	CU_ASSERT(pawl_pg_same_server("/run/pg-a:5432", "/run/pg-a:5432"));
	CU_ASSERT(!pawl_pg_same_server("/run/pg-a:5432", "/run/pg-b:5433"));
	CU_ASSERT(!pawl_pg_same_server("/run/pg-a:5432", "/run/pg-a:5433"));
	CU_ASSERT(!pawl_pg_same_server("", ""));
	CU_ASSERT(!pawl_pg_same_server(NULL, "/run/pg-a:5432"));
}

/* A 500's body: Kinto's generic message and an id; its cause only in the log. */
static void test_internal_error_body(void)
{
	struct pawl_arena *arena = pawl_arena_new(4096);
	struct pawl_response a, b;
	struct pawl_error err;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(arena);
	pawl_error_set(&err, PAWL_ERR_INTERNAL, "database error 42P01: relation \"x\" does not exist");
	pawl_response_init(&a, arena);
	pawl_response_init(&b, arena);
	pawl_response_error(&a, &err);
	pawl_response_error(&b, &err);
	CU_ASSERT_EQUAL(a.status, 500);
	CU_ASSERT_EQUAL(a.errno_, 999);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.error_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.error_id);
	CU_ASSERT_EQUAL(strlen(a.error_id), 16);
	for (i = 0; i < 16; i++)
		CU_ASSERT(isxdigit((unsigned char)a.error_id[i]) && !isupper((unsigned char)a.error_id[i]));
	CU_ASSERT_STRING_NOT_EQUAL(a.error_id, b.error_id);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.body.data, a.error_id));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.body.data, "\"details\":{\"error_id\":\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.body.data,
	    "A programmatic error occurred, developers have been informed."));
	CU_ASSERT_PTR_NULL(strstr(a.body.data, "database"));
	CU_ASSERT_PTR_NULL(strstr(a.body.data, "42P01"));
	/* Not a 500: no id. */
	pawl_error_set(&err, PAWL_ERR_BACKEND, "database unavailable: connection lost");
	pawl_response_error(&a, &err);
	CU_ASSERT_EQUAL(a.status, 503);
	CU_ASSERT_PTR_NULL(a.error_id);
	CU_ASSERT_PTR_NULL(strstr(a.body.data, "error_id"));
	pawl_arena_free(arena);
}

void test_err_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "status/errno/title for every code", test_table_every_code },
		{ "names are unique", test_names_unique },
		{ "out-of-range code is internal", test_out_of_range_is_internal },
		{ "error_set fills the struct", test_error_set },
		{ "error_nomem sets the one OOM error", test_error_nomem },
		{ "error_set truncates", test_error_set_truncates },
		{ "error_invalid fills the struct", test_error_invalid },
		{ "error_clear", test_error_clear },
		{ "reason phrases", test_reason_phrases },
		{ "SQLSTATE to Kinto errors", test_sqlstate_mapping },
		{ "500 body carries an error id only", test_internal_error_body },
	};
	CU_pSuite suite = CU_add_suite("err", NULL, NULL);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}

/*
 * app/core/log.c: one record is one line in both formats, text lines carry a
 * UTC timestamp, identical warnings are throttled with a count, the log file
 * is reopened after a rotation, and config warnings wait for the logger's
 * format. Lines are captured through log_file in a temporary folder.
 */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/config.h"
#include "core/log.h"
#include "core/log_line.h"
#include "core/str.h"
#include "unit.h"

static char dir[64], path[128];

/* The captured file's lines (NULL-terminated), and how many. */
static char **lines_of(const char *file, size_t *n)
{
	static char buf[65536];
	static char *out[256];
	FILE *f = fopen(file, "r");
	size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	char *p = buf, *nl;

	if (f != NULL)
		fclose(f);
	buf[len] = '\0';
	*n = 0;
	while (*n < 255 && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		out[(*n)++] = p;
		p = nl + 1;
	}
	out[*n] = NULL;
	return out;
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pawl-log-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/pawl.log", dir);
	return 0;
}

static int teardown(void)
{
	char old[160];

	pawl_log_open(NULL);
	pawl_log_request_id(NULL);
	pawl_log_configure("info", "json");
	pawl_log_throttle_window(10000);
	unlink(path);
	snprintf(old, sizeof(old), "%s.1", path);
	unlink(old);
	rmdir(dir);
	return 0;
}

/* A fresh capture file, the logger writing to it in format. */
static void capture(const char *format)
{
	pawl_log_open(NULL);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(pawl_log_open(path), 0);
	pawl_log_configure("debug", format);
	pawl_log_throttle_window(0);
}

static void test_text_one_line(void)
{
	regex_t re;
	char **l;
	size_t n;

	capture("text");
	pawl_log_warn("first\nsecond\ttab\x01 end\n");
	pawl_log_info("plain");
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL_FATAL(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{3}Z pawl\\[[0-9]+\\] WARNING app: ", REG_EXTENDED | REG_NOSUB), 0);
	CU_ASSERT_EQUAL(regexec(&re, l[0], 0, NULL, 0), 0);
	regfree(&re);
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], "first\\nsecond\\ttab\\x01 end"));
	CU_ASSERT_PTR_NULL(strstr(l[0], "end\\n")); /* the trailing newline is no content */
	CU_ASSERT_PTR_NOT_NULL(strstr(l[1], " INFO app: plain"));
}

static void test_json_one_line(void)
{
	json_object *o, *fields, *msg;
	char **l;
	size_t n;

	capture("json");
	pawl_log_error("libpq says\nFATAL:  terminating connection \"x\"\n");
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	o = json_tokener_parse(l[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "Fields", &fields) &&
	    json_object_object_get_ex(fields, "msg", &msg) &&
	    strcmp(json_object_get_string(msg), "libpq says\nFATAL:  terminating connection \"x\"") == 0);
	json_object_put(o);
}

static void test_throttled(void)
{
	char **l;
	size_t n;

	capture("text");
	pawl_log_throttle_window(300);
	for (int i = 0; i < 5; i++)
		pawl_log_error("cannot connect to PostgreSQL");
	for (int i = 0; i < 3; i++)
		pawl_log_warn("Redis PING failed");
	for (int i = 0; i < 3; i++)
		pawl_log_info("request served"); /* never throttled */
	usleep(400000);
	pawl_log_error("cannot connect to PostgreSQL");
	pawl_log_error("cannot connect to PostgreSQL");
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], "cannot connect to PostgreSQL"));
	CU_ASSERT_PTR_NULL(strstr(l[0], "more like it"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[1], "Redis PING failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[2], "request served"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[4], "request served"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[5], "cannot connect to PostgreSQL (and 4 more like it"));
}

static void test_reopen(void)
{
	char old[160], **l;
	size_t n;

	capture("text");
	pawl_log_info("before rotation");
	snprintf(old, sizeof(old), "%s.1", path);
	CU_ASSERT_EQUAL_FATAL(rename(path, old), 0);
	pawl_log_info("still in the moved file");
	pawl_log_reopen();
	pawl_log_info("after rotation");
	l = lines_of(old, &n);
	CU_ASSERT_EQUAL(n, 2);
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], "reopened"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[1], "after rotation"));
	/* A file that cannot be opened keeps the current target. */
	CU_ASSERT_NOT_EQUAL(pawl_log_open("/nonexistent/dir/pawl.log"), 0);
	pawl_log_info("still here");
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL(n, 3);
}

/* A warning of the parse waits for pawl_config_log_warnings, in the configured format. */
static void test_config_warnings_deferred(void)
{
	static const char ini[] = "[app:main]\nstorage_url = postgresql:///x\n"
	    "kinto.bucket_id_generator = kinto.views.NameGenerator\nlog_format = text\n";
	struct pawl_error err;
	struct pawl_config *cfg;
	char **l;
	size_t n;

	capture("json");
	cfg = pawl_config_parse(ini, "test.ini", NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	lines_of(path, &n);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(cfg->n_warnings, 1);
	pawl_log_configure(cfg->log_level, cfg->log_format);
	pawl_config_log_warnings(cfg);
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], "WARNING app: setting bucket_id_generator is a Kinto"));
	CU_ASSERT_NOT_EQUAL(l[0][0], '{');
	pawl_config_free(cfg);
}

/* --- request ids, request.summary, structured lines ------------------------------- */

/* The only line of the capture, parsed (NULL if it is not one JSON line); *fields: its Fields. */
static json_object *only_json(json_object **fields)
{
	json_object *o;
	char **l;
	size_t n;

	*fields = NULL;
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL(n, 1);
	if (n != 1)
		return NULL;
	CU_ASSERT(strlen(l[0]) < PAWL_LOG_LINE_MAX);
	CU_ASSERT_TRUE(pawl_str_utf8_valid(l[0], strlen(l[0])));
	o = json_tokener_parse(l[0]);
	CU_ASSERT_PTR_NOT_NULL(o);
	if (o != NULL && !json_object_object_get_ex(o, "Fields", fields))
		*fields = NULL;
	return o;
}

static bool is_null(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

static double num_at(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : -1;
}

static void test_rid_on_lines(void)
{
	json_object *o, *fields;
	char **l;
	size_t n;

	capture("json");
	pawl_log_request_id("rid-1.a_B");
	pawl_log_warn("inside");
	o = only_json(&fields);
	CU_ASSERT_STRING_EQUAL(unit_str_at(fields, "rid"), "rid-1.a_B");
	CU_ASSERT_STRING_EQUAL(unit_str_at(fields, "msg"), "inside");
	json_object_put(o);
	capture("json");
	pawl_log_request_id(NULL);
	pawl_log_warn("outside");
	o = only_json(&fields);
	CU_ASSERT_PTR_NULL(unit_str_at(fields, "rid"));
	json_object_put(o);
	capture("text");
	pawl_log_request_id("abc123");
	pawl_log_error("inside");
	pawl_log_request_id(NULL);
	pawl_log_error("outside");
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], " ERROR app rid=abc123: inside"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[1], " ERROR app: outside"));
}

/* What a client controls, at its worst: quotes, newlines, escapes, broken UTF-8, length. */
static char agent[5000];

static struct pawl_log_summary hostile_summary(void)
{
	memset(agent, 'A', sizeof(agent) - 1);
	agent[sizeof(agent) - 1] = '\0';
	memcpy(agent, "x\"}\n{\"forged\":1\x1b[31m\xff", 21);
	return (struct pawl_log_summary){
		.rid = "0f4c7d2e9a1b3c5d7e9f1a2b3c4d5e6f", .method = "GET",
		.path = "/v1/buckets/\"q\"\n\x01%20\xc3\xa9", .status = 404, .errno_ = 111, .ms = 1.5,
		.query = "a=1&b=x%20y&a=2&plus=a+b&bad=%zz&nul=%00&utf=%C3%A9&broken=%C3&q=%22%0A&flag",
		.user_id = "account:bob\"\nevil", .agent = agent, .lang = "fr\"\x1b[31m",
	};
}

static void test_summary_json(void)
{
	struct pawl_log_summary s = hostile_summary();
	json_object *o, *f, *q;
	regex_t re;
	const char *a;

	capture("json");
	pawl_log_request(&s);
	o = only_json(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(unit_str_at(o, "Type"), "request.summary");
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "rid"), s.rid);
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "method"), "GET");
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "path"), s.path);
	CU_ASSERT_EQUAL(unit_int_at(f, "code"), 404);
	CU_ASSERT_EQUAL(unit_int_at(f, "errno"), 111);
	CU_ASSERT_DOUBLE_EQUAL(num_at(f, "t"), 1.5, 0.0001);
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "uid"), s.user_id);
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "authn_type"), "account");
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "lang"), s.lang);
	a = unit_str_at(f, "agent");
	CU_ASSERT_FATAL(a != NULL && strncmp(a, "x\"}\n{\"forged\":1\x1b[31m\xef\xbf\xbd", 22) == 0);
	CU_ASSERT(strlen(a) <= 410 && strcmp(a + strlen(a) - 3, "...") == 0);
	CU_ASSERT_EQUAL_FATAL(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB), 0);
	CU_ASSERT_EQUAL(regexec(&re, unit_str_at(f, "time"), 0, NULL, 0), 0);
	regfree(&re);
	/* Kinto's querystring: decoded, the last of a repeated name, nothing invented. */
	CU_ASSERT_FATAL(json_object_object_get_ex(f, "querystring", &q));
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "a"), "2");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "b"), "x y");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "plus"), "a b");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "bad"), "%zz");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "nul"), "%00");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "utf"), "\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "broken"), "\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "q"), "\"\n");
	CU_ASSERT_STRING_EQUAL(unit_str_at(q, "flag"), "");
	CU_ASSERT_EQUAL(json_object_object_length(q), 9);
	json_object_put(o);
	/* Not sent: null, as Kinto writes None. */
	capture("json");
	pawl_log_request(&(struct pawl_log_summary){ .rid = "r", .method = "GET", .path = "/v1/",
	    .status = 200 });
	o = only_json(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_TRUE(is_null(f, "errno") && is_null(f, "uid") && is_null(f, "authn_type") &&
	    is_null(f, "agent") && is_null(f, "lang"));
	CU_ASSERT_TRUE(json_object_object_get_ex(f, "querystring", &q) &&
	    json_object_object_length(q) == 0);
	json_object_put(o);
}

static void test_summary_text(void)
{
	struct pawl_log_summary s = hostile_summary();
	char **l;
	size_t n;

	capture("text");
	pawl_log_request(&s);
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_PTR_NULL(strchr(l[0], '\x1b'));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], " INFO request.summary rid=0f4c7d2e9a1b3c5d7e9f1a2b3c4d5e6f: "
	    "GET /v1/buckets/\"q\"\\n\\x01%20\xc3\xa9?a=1&b=x%20y"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], " -> 404 (1.500 ms) errno=111 uid=\"account:bob\\\"\\nevil\""
	    " agent=\"x\\\"}\\n{\\\"forged\\\":1\\x1b[31m\\xffAAA"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l[0], "A...\" lang=\"fr\\\"\\x1b[31m\""));
}

/* Every value at its worst length at once: the record is still one whole JSON line. */
static void test_summary_overlong(void)
{
	static char big[12000], query[12000];
	json_object *o, *f;
	size_t i;

	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, i % 6 ? "\xc3\xa9" : "\"\n", 2);
	big[i] = '\0';
	for (i = 0; i + 12 < sizeof(query); i += 12)
		snprintf(query + i, 13, "k%03zu=%%22%%0A&", (i / 12) % 1000);
	capture("json");
	pawl_log_request(&(struct pawl_log_summary){ .rid = "r", .method = big, .path = big,
	    .query = query, .status = 400, .errno_ = 107, .user_id = big, .agent = big,
	    .lang = big });
	o = only_json(&f);
	CU_ASSERT_PTR_NOT_NULL(f);
	CU_ASSERT_EQUAL(unit_int_at(f, "code"), 400);
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "rid"), "r");
	json_object_put(o);
}

static void test_fields(void)
{
	const struct pawl_log_field fields[] = {
		PAWL_LOG_S("listener", "redis"),
		PAWL_LOG_I("outbox_id", 1234567890123LL),
		PAWL_LOG_S("signal", NULL),
		PAWL_LOG_S("reason", "Redis unavailable: \"x\"\nforged line\x7f"),
	};
	json_object *o, *f;
	char **l;
	size_t n;

	capture("json");
	pawl_log_throttle_window(10000);
	pawl_log_fields(PAWL_LOG_WARN, "event.delivery_failed", fields, 4, "delivery %s", "failed");
	o = only_json(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(unit_str_at(o, "Type"), "event.delivery_failed");
	CU_ASSERT_STRING_EQUAL(unit_str_at(o, "Severity"), "WARNING");
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "msg"), "delivery failed");
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "listener"), "redis");
	CU_ASSERT_DOUBLE_EQUAL(num_at(f, "outbox_id"), 1234567890123.0, 0.5);
	CU_ASSERT_TRUE(is_null(f, "signal"));
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "reason"), fields[3].str);
	json_object_put(o);
	/* Each occurrence counts: never throttled, unlike plain warnings. */
	capture("text");
	pawl_log_throttle_window(10000);
	for (int i = 0; i < 3; i++)
		pawl_log_fields(PAWL_LOG_WARN, "event.delivery_failed", fields, 4, "delivery failed");
	l = lines_of(path, &n);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(l[2], " WARNING event.delivery_failed: delivery failed | "
	    "listener=\"redis\" outbox_id=1234567890123 reason=\"Redis unavailable: \\\"x\\\"\\nforged line\\x7f\""));
	CU_ASSERT_PTR_NULL(strstr(l[2], "signal="));
}

/* The line builder alone: UTF-8 repaired, cuts between characters, the buffer never overrun. */
static void test_line_builder(void)
{
	static const struct {
		const char *in;
		size_t max;
		const char *out;
	} cases[] = {
		{ "ok", 100, "\"ok\"" },
		{ "\xff", 100, "\"\\ufffd\"" },
		{ "\xc0\xaf", 100, "\"\\ufffd\\ufffd\"" },           /* overlong '/' */
		{ "\xed\xa0\x80", 100, "\"\\ufffd\\ufffd\\ufffd\"" }, /* a surrogate */
		{ "\xf4\x90\x80\x80", 100, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* past U+10FFFF */
		{ "\xf0\x9f\x98\x80!", 100, "\"\xf0\x9f\x98\x80!\"" },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\"\xc3\xa9...\"" },
		{ "a\"b\\c\x01", 100, "\"a\\\"b\\\\c\\u0001\"" },
	};
	struct pawl_log_line l;
	char big[6000];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l.len = 0;
		pawl_log_line_json(&l, cases[i].in, cases[i].max);
		l.buf[l.len] = '\0';
		CU_ASSERT_STRING_EQUAL(l.buf, cases[i].out);
	}
	l.len = 0;
	pawl_log_line_text(&l, "a\"b\\\xff\x1b", 100, true);
	l.buf[l.len] = '\0';
	CU_ASSERT_STRING_EQUAL(l.buf, "\"a\\\"b\\\\\\xff\\x1b\"");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	l.len = 0;
	pawl_log_line_puts(&l, big);
	pawl_log_line_json(&l, big, sizeof(big));
	CU_ASSERT_EQUAL(l.len, PAWL_LOG_LINE_MAX - 1);
	pawl_log_line_end(&l);
	CU_ASSERT_EQUAL(l.len, PAWL_LOG_LINE_MAX);
	CU_ASSERT_EQUAL(l.buf[PAWL_LOG_LINE_MAX - 1], '\n');
}

void test_log_register(void)
{
	CU_pSuite s = CU_add_suite("log", setup, teardown);

	CU_add_test(s, "text: timestamp, one escaped line", test_text_one_line);
	CU_add_test(s, "json: one line, newlines escaped", test_json_one_line);
	CU_add_test(s, "identical warnings throttled with a count", test_throttled);
	CU_add_test(s, "log_file reopened after a rotation", test_reopen);
	CU_add_test(s, "config warnings wait for the logger", test_config_warnings_deferred);
	CU_add_test(s, "lines of a request carry its id", test_rid_on_lines);
	CU_add_test(s, "request.summary: Kinto's fields, hostile values, JSON", test_summary_json);
	CU_add_test(s, "request.summary: hostile values, text", test_summary_text);
	CU_add_test(s, "request.summary: every value too long, still one JSON line",
	    test_summary_overlong);
	CU_add_test(s, "structured lines in both formats, never throttled", test_fields);
	CU_add_test(s, "the line builder: UTF-8, cuts, no overrun", test_line_builder);
}

/*
 * app/core/log.c: one record is one line in both formats, text lines carry a
 * UTC timestamp, identical warnings are throttled with a count, the log file
 * is reopened after a rotation, and config warnings wait for the logger's
 * format. Lines are captured through log_file in a temporary folder.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/config.h"
#include "core/log.h"
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

void test_log_register(void)
{
	CU_pSuite s = CU_add_suite("log", setup, teardown);

	CU_add_test(s, "text: timestamp, one escaped line", test_text_one_line);
	CU_add_test(s, "json: one line, newlines escaped", test_json_one_line);
	CU_add_test(s, "identical warnings throttled with a count", test_throttled);
	CU_add_test(s, "log_file reopened after a rotation", test_reopen);
	CU_add_test(s, "config warnings wait for the logger", test_config_warnings_deferred);
}

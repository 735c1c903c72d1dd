/*
 * Unit tests for app/core/config*.c: INI text and an environment array in,
 * struct pawl_config (or an error naming the key) out. Everything goes through
 * pawl_config_parse/pawl_config_load; no test reads the real environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "unit.h"

#define SRC "test.ini"

static struct pawl_error err;

static struct pawl_config *parse_env(const char *text, char **env)
{
	return pawl_config_parse(text, SRC, env, &err);
}

static struct pawl_config *parse(const char *text)
{
	return parse_env(text, NULL);
}

static bool contains(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* Parsing fails with a config error whose message holds both fragments. */
static void expect_error_env(const char *text, char **env, const char *a, const char *b)
{
	struct pawl_config *cfg = parse_env(text, env);

	CU_ASSERT_PTR_NULL(cfg);
	pawl_config_free(cfg);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_CONFIG);
	CU_ASSERT(contains(err.message, a));
	CU_ASSERT(b == NULL || contains(err.message, b));
	if (!contains(err.message, a) || (b != NULL && !contains(err.message, b)))
		fprintf(stderr, "\n  unexpected message: %s\n", err.message);
}

static void expect_error(const char *text, const char *a, const char *b)
{
	expect_error_env(text, NULL, a, b);
}

static void quiet(void)
{
	pawl_log_setup(PAWL_LOG_ERROR, 0);
}

static void loud(void)
{
	pawl_log_setup(PAWL_LOG_INFO, 1);
}

static void test_defaults(void)
{
	struct pawl_config *cfg = parse("");
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(err.code, PAWL_OK);
	CU_ASSERT_STRING_EQUAL(cfg->source_path, SRC);
	CU_ASSERT_STRING_EQUAL(cfg->storage_url, "dbname=pawl");
	CU_ASSERT_EQUAL(cfg->storage_connect_timeout_seconds, 5);
	CU_ASSERT_EQUAL(cfg->storage_statement_timeout_ms, 10000);
	CU_ASSERT_EQUAL(cfg->storage_max_fetch_size, 10000);
	CU_ASSERT_EQUAL(cfg->paginate_by, 0);
	CU_ASSERT_STRING_EQUAL(cfg->userid_hmac_secret, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->auth_policies);
	CU_ASSERT_STRING_EQUAL(cfg->auth_policies[0], "basicauth");
	CU_ASSERT_PTR_NULL(cfg->auth_policies[1]);
	CU_ASSERT_EQUAL(cfg->max_request_body, 1048576);
	CU_ASSERT_EQUAL(cfg->max_json_depth, 64);
	CU_ASSERT_EQUAL(cfg->batch_max_requests, 25);
	CU_ASSERT_FALSE(cfg->readonly);
	CU_ASSERT_TRUE(cfg->explicit_permissions);
	CU_ASSERT_EQUAL(cfg->retry_after_seconds, 3);
	CU_ASSERT_EQUAL(cfg->max_client_timestamp_skew_seconds, 86400);
	CU_ASSERT_EQUAL(cfg->heartbeat_timeout_seconds, 1);
	CU_ASSERT_PTR_NULL(cfg->version_json_path);
	CU_ASSERT_PTR_NULL(cfg->http_scheme);
	CU_ASSERT_PTR_NULL(cfg->http_host);
	CU_ASSERT_TRUE(cfg->version_prefix_redirect_enabled);
	CU_ASSERT_EQUAL(cfg->version_prefix_redirect_ttl_seconds, -1);
	CU_ASSERT_TRUE(cfg->trailing_slash_redirect_enabled);
	CU_ASSERT_EQUAL(cfg->trailing_slash_redirect_ttl_seconds, 3600);
	CU_ASSERT_EQUAL(cfg->graceful_timeout_seconds, 30);
	CU_ASSERT_EQUAL(cfg->socket_mode, 0660);
	CU_ASSERT_STRING_EQUAL(cfg->log_format, "json");
	CU_ASSERT_STRING_EQUAL(cfg->log_level, "info");
	CU_ASSERT_EQUAL(cfg->n_listeners, 0);
	CU_ASSERT_EQUAL(cfg->n_resources, 0);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "bucket_create_principals"),
	    "system.Authenticated");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "cors_origins"), "*");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "cors_max_age_seconds"), "3600");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "root_cache_expires_seconds"), "86400");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "pagination_token_validity_seconds"), "600");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "relay_poll_interval_ms"), "1000");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "outbox_batch_size"), "100");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "backoff"), "");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "socket_mode"), "0660");
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "no_such_key"));
	CU_ASSERT(cfg->n_settings >= 40);
	for (i = 1; i < cfg->n_settings; i++)
		CU_ASSERT(strcmp(cfg->settings[i - 1].key, cfg->settings[i].key) < 0);
	pawl_config_free(cfg);
}

static void test_no_source(void)
{
	struct pawl_config *cfg = pawl_config_parse("[pawl]\nbogus = 1\n", NULL, NULL, &err);

	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT(contains(err.message, "unknown setting 'bogus'"));
	cfg = pawl_config_parse("", NULL, NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_PTR_NULL(cfg->source_path);
	pawl_config_free(cfg);
}

static void test_prefixes(void)
{
	struct pawl_config *cfg = parse(
	    "[app:main]\n"
	    "pawl.batch_max_requests = 7\n"
	    "kinto.readonly = true\n"
	    "cliquet.storage_url = postgresql://u@h/db\n"
	    "http_host = example.org\n"
	    "kinto.multiauth.policies = remote_user basicauth\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->batch_max_requests, 7);
	CU_ASSERT_TRUE(cfg->readonly);
	CU_ASSERT_STRING_EQUAL(cfg->storage_url, "postgresql://u@h/db");
	CU_ASSERT_STRING_EQUAL(cfg->http_host, "example.org");
	CU_ASSERT_STRING_EQUAL(cfg->auth_policies[0], "remote_user");
	CU_ASSERT_STRING_EQUAL(cfg->auth_policies[1], "basicauth");
	CU_ASSERT_PTR_NULL(cfg->auth_policies[2]);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "readonly"), "true");
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "kinto.readonly"));
	pawl_config_free(cfg);
}

static void test_both_sections(void)
{
	struct pawl_config *cfg = parse(
	    "[app:main]\nkinto.batch_max_requests = 9\n"
	    "[pawl]\nlog_format = text\nbatch_max_requests = 9\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->batch_max_requests, 9);
	CU_ASSERT_STRING_EQUAL(cfg->log_format, "text");
	pawl_config_free(cfg);
}

static void test_ignored_sections(void)
{
	struct pawl_config *cfg = parse(
	    "[server:main]\nuse = egg:waitress#main\nport = 8888\nreadonly = true\n"
	    "[loggers]\nkeys = root, kinto\n"
	    "[logger_root]\nlevel = INFO\n"
	    "[app:main]\nuse = egg:kinto\nkinto.paginate_by = 50\n"
	    "[handler_console]\nclass = StreamHandler\nbatch_max_requests = abc\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_FALSE(cfg->readonly);
	CU_ASSERT_EQUAL(cfg->batch_max_requests, 25);
	CU_ASSERT_EQUAL(cfg->paginate_by, 50);
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "use"));
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "port"));
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "keys"));
	pawl_config_free(cfg);
}

static void test_use_only_in_app_main(void)
{
	expect_error("[pawl]\nuse = egg:kinto\n", "unknown setting 'use'", SRC);
}

static void test_unknown_key(void)
{
	expect_error("[app:main]\nkinto.frobnicate_level = 3\n",
	    "unknown setting 'kinto.frobnicate_level' in " SRC, NULL);
	expect_error("[pawl]\nfoo_enabled = true\n", "unknown setting 'foo_enabled'", NULL);
	expect_error("[pawl]\nkinto. = 1\n", "unknown setting 'kinto.'", NULL);
}

static void test_conflict(void)
{
	struct pawl_config *cfg;

	expect_error("[app:main]\nkinto.readonly = true\nreadonly = false\n",
	    "Settings 'kinto.readonly', 'readonly' are in conflict.", NULL);
	expect_error("[app:main]\nreadonly = true\n[pawl]\nreadonly = false\n",
	    "'[app:main] readonly', '[pawl] readonly' are in conflict.", NULL);
	cfg = parse("[app:main]\nkinto.readonly = true\ncliquet.readonly = true\n"
	    "[pawl]\nreadonly = true\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_TRUE(cfg->readonly);
	pawl_config_free(cfg);
}

static void test_duplicate_in_section(void)
{
	expect_error("[pawl]\nreadonly = true\nbatch_max_requests = 3\nreadonly = true\n",
	    "line 4: setting 'readonly' appears twice in [pawl]", NULL);
}

static void test_env_static(void)
{
	char *env[] = {
		"HOME=/root", "PAWL_BATCH_MAX_REQUESTS=50", "PAWL_HTTP_PORT=8888",
		"PAWL_READONLY=on", "PAWL_MULTIAUTH_POLICIES=remote_user", "PAWL_=x",
		"PAWL_STORAGE_URL", NULL
	};
	struct pawl_config *cfg = parse_env("[app:main]\nkinto.batch_max_requests = 10\n", env);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->batch_max_requests, 50);
	CU_ASSERT_TRUE(cfg->readonly);
	CU_ASSERT_STRING_EQUAL(cfg->auth_policies[0], "remote_user");
	CU_ASSERT_PTR_NULL(cfg->auth_policies[1]);
	CU_ASSERT_STRING_EQUAL(cfg->storage_url, "dbname=pawl");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "batch_max_requests"), "50");
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "http_port"));
	pawl_config_free(cfg);
}

static void test_env_family_key(void)
{
	char *env[] = { "PAWL_PLURAL_BUCKET_POST_ENABLED=false", NULL };
	struct pawl_config *cfg = parse_env("[pawl]\nplural_bucket_post_enabled = true\n", env);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "plural_bucket_post_enabled"), "false");
	pawl_config_free(cfg);
}

static void test_env_listener_url(void)
{
	char *env[] = {
		"PAWL_EVENT_LISTENERS_REDIS_URL=redis://cache:6380/2",
		"PAWL_EVENT_LISTENERS_QUEUE_URL=unix:///run/redis.sock", NULL
	};
	struct pawl_config *cfg = parse_env(
	    "[app:main]\nkinto.event_listeners = redis queue\n"
	    "kinto.event_listeners.redis.use = redis\n"
	    "kinto.event_listeners.redis.url = redis://localhost:6379/0\n"
	    "event_listeners.queue.use = redis\n", env);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_listeners, 2);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].url, "redis://cache:6380/2");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[1].url, "unix:///run/redis.sock");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "event_listeners.redis.url"),
	    "redis://cache:6380/2");
	pawl_config_free(cfg);
}

static void test_env_listener_from_scratch(void)
{
	char *env[] = {
		"PAWL_EVENT_LISTENERS=redis", "PAWL_EVENT_LISTENERS_REDIS_USE=redis",
		"PAWL_EVENT_LISTENERS_REDIS_ACTIONS=read", NULL
	};
	struct pawl_config *cfg = parse_env("", env);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_listeners, 1);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].use, "redis");
	CU_ASSERT_EQUAL(cfg->listeners[0].actions, PAWL_EVENT_READ);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].url, "redis://127.0.0.1:6379/0");
	pawl_config_free(cfg);
}

/* PAWL_EVENT_LISTENERS= turns the file's listeners off: their options are ignored, not refused. */
static void test_env_listeners_off(void)
{
	char *off[] = { "PAWL_EVENT_LISTENERS=", NULL };
	char *one[] = { "PAWL_EVENT_LISTENERS=b", NULL };
	const char *ini = "[app:main]\nevent_listeners = a b\n"
	    "event_listeners.a.use = redis\nevent_listeners.b.use = redis\n"
	    "event_listeners.b.listname = bee\n";
	struct pawl_config *cfg;

	pawl_log_setup(PAWL_LOG_ERROR, 0); /* the warnings are expected */
	cfg = parse_env(ini, off);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->n_listeners, 0);
	pawl_config_free(cfg);
	cfg = parse_env(ini, one);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_listeners, 1);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].name, "b");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].listname, "bee");
	pawl_config_free(cfg);
	pawl_log_setup(PAWL_LOG_INFO, 1);
}

static void test_malformed_file(void)
{
	expect_error("[pawl]\nbatch_max_requests = abc\n",
	    "setting 'batch_max_requests' must be an integer between 1 and 1000, got 'abc'",
	    "(in " SRC ")");
	expect_error("[pawl]\nbatch_max_requests = 1001\n", "got '1001'", NULL);
	expect_error("[pawl]\nbatch_max_requests = 0\n", "got '0'", NULL);
	expect_error("[pawl]\nbatch_max_requests = 5x\n", "got '5x'", NULL);
	expect_error("[pawl]\nmax_request_body = 99999999999999999999\n",
	    "'max_request_body' must be an integer between 1024 and 1073741824", NULL);
	expect_error("[pawl]\nkinto.readonly = maybe\n",
	    "setting 'readonly' must be a boolean", "got 'maybe'");
	expect_error("[pawl]\nlog_format = xml\n",
	    "setting 'log_format' must be one of json, text, got 'xml'", NULL);
	expect_error("[pawl]\nlog_level = verbose\n", "'log_level'", "got 'verbose'");
	expect_error("[pawl]\nhttp_scheme = ftp\n", "'http_scheme'", "got 'ftp'");
	expect_error("[pawl]\nsocket_mode = 0998\n", "'socket_mode' must be an octal", NULL);
	expect_error("[pawl]\nsocket_mode = 01777\n", "'socket_mode'", "got '01777'");
	expect_error("[pawl]\nmultiauth.policies = basicauth fxa\n",
	    "'multiauth.policies' must be a list of basicauth, remote_user, account", "got 'fxa'");
	expect_error("[pawl]\nbackoff_percentage = 101\n", "'backoff_percentage'", NULL);
	expect_error("[pawl]\nobject_record_delete_enabled = nope\n",
	    "'object_record_delete_enabled' must be a boolean", NULL);
	expect_error("[pawl]\nblog_record_cache_expires_seconds = soon\n",
	    "'blog_record_cache_expires_seconds' must be an integer", NULL);
}

static void test_malformed_env(void)
{
	char *bad_int[] = { "PAWL_BATCH_MAX_REQUESTS=lots", NULL };
	char *bad_bool[] = { "PAWL_READONLY=perhaps", NULL };
	char *bad_listener[] = { "PAWL_EVENT_LISTENERS_R_POOL_SIZE=0", NULL };

	expect_error_env("", bad_int, "setting 'batch_max_requests' must be an integer",
	    "got 'lots' (from environment variable PAWL_BATCH_MAX_REQUESTS)");
	expect_error_env("[pawl]\nreadonly = false\n", bad_bool, "setting 'readonly'",
	    "'perhaps' (from environment variable PAWL_READONLY)");
	expect_error_env("[pawl]\nevent_listeners = r\nevent_listeners.r.use = redis\n",
	    bad_listener, "'event_listeners.r.pool_size' must be an integer between 1 and 64",
	    "PAWL_EVENT_LISTENERS_R_POOL_SIZE");
}

static void test_values(void)
{
	struct pawl_config *cfg = parse(
	    "[pawl]\nsocket_mode = 0600\nreadonly = YES\nexplicit_permissions = Off\n"
	    "http_scheme = https\nhttp_host =\nversion_json_path = /srv/version.json\n"
	    "max_request_body = 1073741824\nversion_prefix_redirect_ttl_seconds = -1\n"
	    "paginate_by =\nlog_level = debug\nbackoff = 60\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->socket_mode, 0600);
	CU_ASSERT_TRUE(cfg->readonly);
	CU_ASSERT_FALSE(cfg->explicit_permissions);
	CU_ASSERT_STRING_EQUAL(cfg->http_scheme, "https");
	CU_ASSERT_PTR_NULL(cfg->http_host);
	CU_ASSERT_STRING_EQUAL(cfg->version_json_path, "/srv/version.json");
	CU_ASSERT_EQUAL(cfg->max_request_body, 1073741824LL);
	CU_ASSERT_EQUAL(cfg->version_prefix_redirect_ttl_seconds, -1);
	CU_ASSERT_EQUAL(cfg->paginate_by, 0);
	CU_ASSERT_STRING_EQUAL(cfg->log_level, "debug");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "backoff"), "60");
	pawl_config_free(cfg);
}

static void test_families_kept(void)
{
	struct pawl_config *cfg = parse(
	    "[app:main]\n"
	    "kinto.bucket_write_principals = system.Authenticated account:admin\n"
	    "kinto.collection_read_principals = system.Everyone\n"
	    "kinto.plural_bucket_post_enabled = false\n"
	    "kinto.record_cache_expires_seconds = 3600\n"
	    "kinto.blog_article_record_cache_expires_seconds = 60\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "bucket_write_principals"),
	    "system.Authenticated account:admin");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "collection_read_principals"),
	    "system.Everyone");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "plural_bucket_post_enabled"), "false");
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "record_cache_expires_seconds"), "3600");
	CU_ASSERT_STRING_EQUAL(
	    pawl_config_get(cfg, "blog_article_record_cache_expires_seconds"), "60");
	pawl_config_free(cfg);
	expect_error("[pawl]\nbucket_frob_principals = a\n", "unknown setting", NULL);
}

static void test_continuation_lines(void)
{
	struct pawl_config *cfg = parse(
	    "[app:main]\n"
	    "kinto.bucket_create_principals =\n"
	    "    system.Authenticated\n"
	    "    account:admin\n"
	    "multiauth.policies = basicauth\n"
	    "\tremote_user\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "bucket_create_principals"),
	    "system.Authenticated account:admin");
	CU_ASSERT_STRING_EQUAL(cfg->auth_policies[1], "remote_user");
	pawl_config_free(cfg);
}

static void test_syntax_errors(void)
{
	char text[600];

	expect_error("[pawl]\nreadonly = true\nthis line has no equals sign\n",
	    SRC " line 3:", NULL);
	snprintf(text, sizeof(text), "[pawl]\nstorage_url = %0300d\n", 0);
	expect_error(text, SRC " line 2: line longer than", NULL);
}

static void test_two_redis_listeners(void)
{
	struct pawl_config *cfg = parse(
	    "[app:main]\n"
	    "kinto.event_listeners = queue audit\n"
	    "kinto.event_listeners.queue.use = redis\n"
	    "kinto.event_listeners.queue.url = redis://:secret@queue-host:6379/1\n"
	    "kinto.event_listeners.queue.listname = queue\n"
	    "kinto.event_listeners.queue.pool_size = 5\n"
	    "kinto.event_listeners.queue.actions = create delete\n"
	    "kinto.event_listeners.queue.resources = bucket collection\n"
	    "kinto.event_listeners.queue.include_data = true\n"
	    "kinto.event_listeners.queue.data_max_bytes = 1024\n"
	    "kinto.event_listeners.audit.use = redis\n"
	    "kinto.event_listeners.audit.actions = read update\n");
	const struct pawl_listener_config *q, *a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_listeners, 2);
	q = &cfg->listeners[0];
	a = &cfg->listeners[1];
	CU_ASSERT_STRING_EQUAL(q->name, "queue");
	CU_ASSERT_STRING_EQUAL(q->use, "redis");
	CU_ASSERT_STRING_EQUAL(q->url, "redis://:secret@queue-host:6379/1");
	CU_ASSERT_STRING_EQUAL(q->listname, "queue");
	CU_ASSERT_EQUAL(q->pool_size, 5);
	CU_ASSERT_EQUAL(q->actions, PAWL_EVENT_CREATE | PAWL_EVENT_DELETE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q->resources);
	CU_ASSERT_STRING_EQUAL(q->resources[0], "bucket");
	CU_ASSERT_STRING_EQUAL(q->resources[1], "collection");
	CU_ASSERT_PTR_NULL(q->resources[2]);
	CU_ASSERT_TRUE(q->include_data);
	CU_ASSERT_EQUAL(q->data_max_bytes, 1024);
	CU_ASSERT_STRING_EQUAL(a->name, "audit");
	CU_ASSERT_STRING_EQUAL(a->url, "redis://127.0.0.1:6379/0");
	CU_ASSERT_STRING_EQUAL(a->listname, "pawl.events");
	CU_ASSERT_EQUAL(a->pool_size, 1);
	CU_ASSERT_EQUAL(a->actions, PAWL_EVENT_READ | PAWL_EVENT_UPDATE);
	CU_ASSERT_PTR_NULL(a->resources);
	CU_ASSERT_FALSE(a->include_data);
	CU_ASSERT_EQUAL(a->data_max_bytes, 65536);
	/* actions data_max_bytes include_data listname maxlen pool_size resources
	 * sentinel_db stream_per_bucket type url use wait_replicas */
	CU_ASSERT_EQUAL(a->n_options, 13);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "event_listeners.audit.listname"),
	    "pawl.events");
	pawl_config_free(cfg);
}

static void test_listener_defaults(void)
{
	struct pawl_config *cfg = parse(
	    "[pawl]\nevent_listeners = r\nevent_listeners.r.use = redis\n"
	    "event_listeners.r.actions =\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_listeners, 1);
	CU_ASSERT_EQUAL(cfg->listeners[0].actions,
	    PAWL_EVENT_CREATE | PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE);
	CU_ASSERT_PTR_NULL(cfg->listeners[0].resources);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].listname, "pawl.events");
	pawl_config_free(cfg);
}

static const char *option(const struct pawl_listener_config *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n_options; i++)
		if (strcmp(l->options[i].key, key) == 0)
			return l->options[i].value;
	return NULL;
}

static void test_plugin_listener(void)
{
	struct pawl_config *cfg = parse(
	    "[pawl]\nevent_listeners = hook\n"
	    "event_listeners.hook.use = /usr/lib/pawl/webhook.so\n"
	    "event_listeners.hook.endpoint = https://example.org/hook\n"
	    "event_listeners.hook.timeout-ms = 250\n"
	    "event_listeners.hook.resources = record\n");
	const struct pawl_listener_config *l;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_listeners, 1);
	l = &cfg->listeners[0];
	CU_ASSERT_STRING_EQUAL(l->use, "/usr/lib/pawl/webhook.so");
	CU_ASSERT_PTR_NULL(l->url);
	CU_ASSERT_PTR_NULL(l->listname);
	CU_ASSERT_EQUAL(l->pool_size, 1);
	CU_ASSERT_EQUAL(l->actions, PAWL_EVENT_CREATE | PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE);
	CU_ASSERT_STRING_EQUAL(l->resources[0], "record");
	CU_ASSERT_EQUAL(l->n_options, 5);
	CU_ASSERT_STRING_EQUAL(option(l, "endpoint"), "https://example.org/hook");
	CU_ASSERT_STRING_EQUAL(option(l, "timeout-ms"), "250");
	CU_ASSERT_STRING_EQUAL(option(l, "use"), "/usr/lib/pawl/webhook.so");
	CU_ASSERT_STRING_EQUAL(option(l, "actions"), "create update delete");
	CU_ASSERT_PTR_NULL(option(l, "url"));
	pawl_config_free(cfg);
	cfg = parse("[pawl]\nevent_listeners = p\nevent_listeners.p.use = plugins/p.so\n");
	CU_ASSERT_PTR_NOT_NULL(cfg);
	pawl_config_free(cfg);
}

static void test_kinto_redis_module(void)
{
	struct pawl_config *cfg;

	quiet();
	cfg = parse("[app:main]\nkinto.event_listeners = redis\n"
	    "kinto.event_listeners.redis.use = kinto_redis.listeners\n");
	loud();
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].use, "redis");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].listname, "pawl.events");
	pawl_config_free(cfg);
}

static void test_listener_errors(void)
{
	expect_error("[pawl]\nevent_listeners = redis\n",
	    "setting 'event_listeners.redis.use' is missing", NULL);
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.b.use = redis\n",
	    "'event_listeners.b.use'", "not listed in 'event_listeners'");
	expect_error("[pawl]\nevent_listeners.b.url = redis://x\n",
	    "'event_listeners.b.url'", "not listed");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a.topic = x\n", "unknown setting 'event_listeners.a.topic'", NULL);
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = memcached\n",
	    "'event_listeners.a.use' must be 'redis' or the path", "got 'memcached'");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a.actions = create destroy\n",
	    "'event_listeners.a.actions' must be a list of create, update, delete, read",
	    "got 'destroy'");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a.resources = bucket mushroom\n",
	    "'event_listeners.a.resources'", "got 'mushroom'");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a.pool_size = 65\n", "'event_listeners.a.pool_size'", "got '65'");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a.data_max_bytes = -1\n", "'event_listeners.a.data_max_bytes'",
	    "got '-1'");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a.include_data = maybe\n", "'event_listeners.a.include_data'",
	    "got 'maybe'");
	expect_error("[pawl]\nevent_listeners = a a\nevent_listeners.a.use = redis\n",
	    "'event_listeners' must be a list without repeated names", NULL);
	expect_error("[pawl]\nevent_listeners = kinto_redis.listeners\n",
	    "'event_listeners' must be a list of aliases", "got 'kinto_redis.listeners'");
	expect_error("[pawl]\nevent_listeners = a\nevent_listeners.a.use = redis\n"
	    "event_listeners.a = x\n", "unknown setting 'event_listeners.a'", NULL);
}

static void test_resources(void)
{
	struct pawl_config *cfg = parse(
	    "[app:main]\n"
	    "kinto.resources = mushroom spore_2\n"
	    "kinto.resources.mushroom.list = /mushrooms\n"
	    "kinto.resources.mushroom.item = /mushrooms/{id}\n"
	    "kinto.resources.spore_2.list = /mushrooms/{mushroom_id}/spores\n"
	    "kinto.resources.spore_2.item = /mushrooms/{mushroom_id}/spores/{id}\n"
	    "kinto.resources.spore_2.parent = mushroom\n"
	    "kinto.resources.spore_2.scope = user\n"
	    "kinto.event_listeners = r\n"
	    "kinto.event_listeners.r.use = redis\n"
	    "kinto.event_listeners.r.resources = spore_2 record\n");
	const struct pawl_resource_config *m, *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->n_resources, 2);
	m = &cfg->resources[0];
	s = &cfg->resources[1];
	CU_ASSERT_STRING_EQUAL(m->name, "mushroom");
	CU_ASSERT_STRING_EQUAL(m->list, "/mushrooms");
	CU_ASSERT_STRING_EQUAL(m->item, "/mushrooms/{id}");
	CU_ASSERT_PTR_NULL(m->parent);
	CU_ASSERT_FALSE(m->per_user);
	CU_ASSERT_STRING_EQUAL(s->name, "spore_2");
	CU_ASSERT_STRING_EQUAL(s->parent, "mushroom");
	CU_ASSERT_TRUE(s->per_user);
	CU_ASSERT_STRING_EQUAL(pawl_config_get(cfg, "resources.mushroom.scope"), "shared");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].resources[0], "spore_2");
	pawl_config_free(cfg);
	cfg = parse("[pawl]\nresources = note\nresources.note.list = /buckets/{bucket_id}/notes\n"
	    "resources.note.item = /buckets/{bucket_id}/notes/{id}\nresources.note.parent = bucket\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->resources[0].parent, "bucket");
	pawl_config_free(cfg);
}

#define RES_OK "resources = m\nresources.m.list = /m\nresources.m.item = /m/{id}\n"

static void test_resource_errors(void)
{
	expect_error("[pawl]\nresources = Mushroom\n",
	    "'resources' must be a list of resource names matching", "got 'Mushroom'");
	expect_error("[pawl]\nresources = 9lives\n", "'resources'", "got '9lives'");
	expect_error("[pawl]\nresources = record\n", "'resources'", "got 'record'");
	expect_error("[pawl]\nresources = m m\n", "without repeated names", NULL);
	expect_error("[pawl]\nresources = m\nresources.m.item = /m/{id}\n",
	    "setting 'resources.m.list' is missing", NULL);
	expect_error("[pawl]\nresources = m\nresources.m.list = /m\n",
	    "setting 'resources.m.item' is missing", NULL);
	expect_error("[pawl]\nresources = m\nresources.m.list = m\nresources.m.item = /m/{id}\n",
	    "'resources.m.list' must be a URL pattern starting with '/'", "got 'm'");
	expect_error("[pawl]\nresources = m\nresources.m.list = /m\nresources.m.item = /m/{mid}\n",
	    "'resources.m.item'", "ending with '/{id}', got '/m/{mid}'");
	expect_error("[pawl]\nresources = m\nresources.m.list = /m\nresources.m.item = m/{id}\n",
	    "'resources.m.item'", "got 'm/{id}'");
	expect_error("[pawl]\n" RES_OK "resources.m.scope = private\n",
	    "'resources.m.scope' must be one of shared, user", "got 'private'");
	expect_error("[pawl]\n" RES_OK "resources.m.parent = tree\n",
	    "'resources.m.parent'", "got 'tree'");
	expect_error("[pawl]\n" RES_OK "resources.m.parent = m\n",
	    "'resources.m.parent'", "got 'm'");
	expect_error("[pawl]\n" RES_OK "resources.m.colour = red\n",
	    "unknown setting 'resources.m.colour'", NULL);
	expect_error("[pawl]\n" RES_OK "resources.x.list = /x\n",
	    "'resources.x.list' configures 'x', which is not listed in 'resources'", NULL);
	expect_error("[pawl]\nresources = a b\n"
	    "resources.a.list = /a\nresources.a.item = /a/{id}\nresources.a.parent = b\n"
	    "resources.b.list = /b\nresources.b.item = /b/{id}\nresources.b.parent = a\n",
	    "its own ancestor", NULL);
}

/* An ini written for Kinto (basic auth, PostgreSQL) starts pawl. */
static const char kinto_ini[] =
	"# Created by kinto init\n"
	"[server:main]\n"
	"use = egg:waitress#main\n"
	"host = 0.0.0.0\n"
	"port = %(http_port)s\n"
	"\n"
	"[app:main]\n"
	"use = egg:kinto\n"
	"kinto.includes = kinto.plugins.default_bucket\n"
	"                 kinto.plugins.admin\n"
	"kinto.project_name = kinto\n"
	"kinto.storage_backend = kinto.core.storage.postgresql\n"
	"kinto.storage_url = postgresql://postgres:postgres@localhost/postgres\n"
	"kinto.storage_pool_size = 25\n"
	"kinto.cache_backend = kinto.core.cache.postgresql\n"
	"kinto.cache_url = postgresql://postgres:postgres@localhost/postgres\n"
	"kinto.permission_backend = kinto.core.permission.postgresql\n"
	"kinto.permission_url = postgresql://postgres:postgres@localhost/postgres\n"
	"kinto.userid_hmac_secret = b4c96a8692291d88fe5a97dd91846eb4\n"
	"multiauth.policies = basicauth\n"
	"multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy\n"
	"kinto.bucket_create_principals = system.Authenticated\n"
	"kinto.bucket_id_generator = kinto.views.NameGenerator\n"
	"kinto.experimental_permissions_endpoint = true\n"
	"kinto.statsd_url = udp://localhost:8125\n"
	"kinto.http_scheme = https\n"
	"kinto.http_host = kinto.example.org\n"
	"kinto.retry_after_seconds = 30\n"
	"kinto.plural_bucket_post_enabled = false\n"
	"\n"
	"[pawl]\n"
	"includes = kinto.plugins.default_bucket kinto.plugins.admin\n"
	"\n"
	"[loggers]\n"
	"keys = root, kinto\n"
	"\n"
	"[logger_kinto]\n"
	"level = DEBUG\n"
	"handlers = console\n";

/* Runs parse(text) and logs its warnings, with stderr captured into buf. */
static struct pawl_config *parse_logged(const char *text, char *buf, size_t size)
{
	char path[] = "/tmp/pawl-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct pawl_config *cfg;
	ssize_t got;

	buf[0] = '\0';
	if (fd < 0 || saved < 0)
		return NULL;
	fflush(stderr);
	dup2(fd, 2);
	pawl_log_setup(PAWL_LOG_WARN, 0);
	cfg = parse(text);
	/* The parse keeps its warnings; the caller logs them once the logger is set up. */
	if (cfg != NULL)
		pawl_config_log_warnings(cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	loud();
	got = pread(fd, buf, size - 1, 0);
	buf[got > 0 ? got : 0] = '\0';
	close(fd);
	unlink(path);
	return cfg;
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (; (haystack = strstr(haystack, needle)) != NULL; haystack++)
		n++;
	return n;
}

static void test_kinto_ini(void)
{
	static char log[8192];
	struct pawl_config *cfg = parse_logged(kinto_ini, log, sizeof(log));

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->storage_url, "postgresql://postgres:postgres@localhost/postgres");
	CU_ASSERT_STRING_EQUAL(cfg->userid_hmac_secret, "b4c96a8692291d88fe5a97dd91846eb4");
	CU_ASSERT_STRING_EQUAL(cfg->http_scheme, "https");
	CU_ASSERT_STRING_EQUAL(cfg->http_host, "kinto.example.org");
	CU_ASSERT_EQUAL(cfg->retry_after_seconds, 30);
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "includes"));
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "storage_backend"));
	CU_ASSERT_PTR_NULL(pawl_config_get(cfg, "multiauth.policy.basicauth.use"));
	/* Kinto's permissions endpoint is served (endpoints/permissions.c), not ignored. */
	CU_ASSERT_TRUE(cfg->experimental_permissions_endpoint);
	pawl_config_free(cfg);
	/* one warning per ignored key, even when given twice */
	CU_ASSERT_EQUAL(count(log, "is a Kinto setting pawl does not use; ignored"), 11);
	CU_ASSERT_EQUAL(count(log, "setting includes is a Kinto setting"), 1);
	CU_ASSERT_EQUAL(count(log, "setting multiauth.policy.basicauth.use is a Kinto"), 1);
	CU_ASSERT_EQUAL(count(log, "setting storage_url"), 0);
}

static void test_load_file(void)
{
	char path[] = "/tmp/pawl-test-config-XXXXXX";
	const char text[] = "[pawl]\r\nbatch_max_requests = 12\r\nlog_format = text\r\n";
	struct pawl_config *cfg;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	cfg = pawl_config_load(path, NULL, &err);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->source_path, path);
	CU_ASSERT_EQUAL(cfg->batch_max_requests, 12);
	CU_ASSERT_STRING_EQUAL(cfg->log_format, "text");
	pawl_config_free(cfg);
}

static void test_load_errors(void)
{
	char path[] = "/tmp/pawl-test-config-XXXXXX";
	struct pawl_config *cfg = pawl_config_load("/nonexistent/pawl.ini", NULL, &err);
	int fd;

	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_CONFIG);
	CU_ASSERT(contains(err.message, "'/nonexistent/pawl.ini'"));
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "[pawl]\nreadonly = nah\n", 22), 22);
	close(fd);
	cfg = pawl_config_load(path, NULL, &err);
	unlink(path);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT(contains(err.message, "got 'nah'"));
	CU_ASSERT(contains(err.message, path));
}

static void test_free_and_get_null(void)
{
	pawl_config_free(NULL);
	CU_ASSERT_PTR_NULL(pawl_config_get(NULL, "readonly"));
}

/* trusted_proxies: IPv4 and IPv6 addresses and blocks; a malformed entry is named. */
static void test_trusted_proxies(void)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "::1/129", "10.0.0.1/8", "10.0.0.0/08", "10.0.0.0/", "/8", "10.0.0",
		"010.0.0.1", "10.0.0.0/-1", "10.0.0.0/+8", "example.org", "10.0.0.1,10.0.0.2",
		"fe80::1%eth0", "::1/64", "1.2.3.4/24", "[::1]", "10.0.0.0/8/8", "0x7f000001",
	};
	struct pawl_config *cfg = parse("[app:main]\n");
	char text[256];
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->n_trusted_proxies, 0);
	CU_ASSERT(!pawl_cidr_match(cfg->trusted_proxies, cfg->n_trusted_proxies, "127.0.0.1"));
	pawl_config_free(cfg);
	cfg = parse("[app:main]\ntrusted_proxies = 127.0.0.1 10.0.0.0/8 ::1 fd00::/8 0.0.0.0/0\n"
	    "  192.168.1.0/24\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->n_trusted_proxies, 6);
	CU_ASSERT_EQUAL(cfg->trusted_proxies[1].bits, 96 + 8);
	CU_ASSERT_EQUAL(cfg->trusted_proxies[3].bits, 8);
	pawl_config_free(cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[app:main]\ntrusted_proxies = ::1 %s\n", bad[i]);
		expect_error(text, "setting 'trusted_proxies' must be", bad[i]);
	}
	{
		char *env[] = { "PAWL_TRUSTED_PROXIES=10.1.0.0/16 bogus", NULL };

		expect_error_env("[app:main]\n", env, "got 'bogus'", "PAWL_TRUSTED_PROXIES");
	}
}

static void test_cidr_match(void)
{
	struct pawl_cidr b[3];

	CU_ASSERT_FATAL(pawl_cidr_parse("10.0.0.0/8", &b[0]));
	CU_ASSERT_FATAL(pawl_cidr_parse("2001:db8::/32", &b[1]));
	CU_ASSERT_FATAL(pawl_cidr_parse("192.168.1.7", &b[2]));
	CU_ASSERT(pawl_cidr_match(b, 3, "10.255.1.2"));
	CU_ASSERT(pawl_cidr_match(b, 3, "::ffff:10.0.0.1")); /* IPv4-mapped peer */
	CU_ASSERT(pawl_cidr_match(b, 3, "2001:db8:ffff::1"));
	CU_ASSERT(pawl_cidr_match(b, 3, "2001:DB8::"));
	CU_ASSERT(pawl_cidr_match(b, 3, "192.168.1.7"));
	CU_ASSERT(!pawl_cidr_match(b, 3, "192.168.1.8"));
	CU_ASSERT(!pawl_cidr_match(b, 3, "11.0.0.1"));
	CU_ASSERT(!pawl_cidr_match(b, 3, "2001:db9::1"));
	CU_ASSERT(!pawl_cidr_match(b, 3, "::a00:1")); /* IPv4-compatible is not mapped */
	CU_ASSERT(!pawl_cidr_match(b, 3, ""));
	CU_ASSERT(!pawl_cidr_match(b, 3, NULL));
	CU_ASSERT(!pawl_cidr_match(b, 3, "10.0.0.1 "));
	CU_ASSERT(!pawl_cidr_match(b, 3, "unix:"));
	CU_ASSERT(!pawl_cidr_match(b, 0, "10.0.0.1"));
	CU_ASSERT_FATAL(pawl_cidr_parse("::/0", &b[0]));
	CU_ASSERT(pawl_cidr_match(b, 1, "10.0.0.1"));
	CU_ASSERT(pawl_cidr_match(b, 1, "::1"));
	CU_ASSERT_FATAL(pawl_cidr_parse("0.0.0.0/0", &b[0]));
	CU_ASSERT(pawl_cidr_match(b, 1, "10.0.0.1"));
	CU_ASSERT(!pawl_cidr_match(b, 1, "::1"));
}

/* The default bucket's key: its own secret, else userid_hmac_secret, never empty. */
static void test_default_bucket_secret(void)
{
	struct pawl_config *cfg = parse("[app:main]\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_PTR_NULL(pawl_config_default_bucket_secret(cfg));
	CU_ASSERT_EQUAL(pawl_config_check_secrets(cfg, &err), PAWL_ERR_CONFIG);
	CU_ASSERT(contains(err.message, "'userid_hmac_secret'"));
	CU_ASSERT(contains(err.message, "'default_bucket_hmac_secret'"));
	CU_ASSERT(contains(err.message, SRC));
	pawl_config_free(cfg);
	cfg = parse("[app:main]\nuserid_hmac_secret = u\ndefault_bucket_hmac_secret =\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(pawl_config_default_bucket_secret(cfg), "u");
	CU_ASSERT_EQUAL(pawl_config_check_secrets(cfg, &err), PAWL_OK);
	pawl_config_free(cfg);
	cfg = parse("[app:main]\nuserid_hmac_secret = u\ndefault_bucket_hmac_secret = d\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(pawl_config_default_bucket_secret(cfg), "d");
	pawl_config_free(cfg);
	cfg = parse("[app:main]\nmultiauth.policies = remote_user\ndefault_bucket_hmac_secret = d\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(pawl_config_default_bucket_secret(cfg), "d");
	CU_ASSERT_EQUAL(pawl_config_check_secrets(cfg, &err), PAWL_OK);
	pawl_config_free(cfg);
}

/* basicauth ids are HMACs keyed by userid_hmac_secret: an empty one is refused. */
static void test_basicauth_needs_secret(void)
{
	static const char *const refused[] = {
		"[app:main]\ndefault_bucket_hmac_secret = d\n",
		"[app:main]\nuserid_hmac_secret =\ndefault_bucket_hmac_secret = d\n",
		"[pawl]\nmultiauth.policies = remote_user basicauth\ndefault_bucket_hmac_secret = d\n",
	};
	struct pawl_config *cfg;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		cfg = parse(refused[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
		CU_ASSERT_EQUAL(pawl_config_check_secrets(cfg, &err), PAWL_ERR_CONFIG);
		CU_ASSERT(contains(err.message, "'userid_hmac_secret'"));
		CU_ASSERT(contains(err.message, "basicauth"));
		CU_ASSERT(contains(err.message, SRC));
		pawl_config_free(cfg);
	}
	cfg = parse("[app:main]\nmultiauth.policies = basicauth\nuserid_hmac_secret = u\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(pawl_config_check_secrets(cfg, &err), PAWL_OK);
	pawl_config_free(cfg);
}

/* A file read through pawl_config_load: the text into a temporary file. */
static struct pawl_config *load_text(const char *text, char *path, size_t size)
{
	struct pawl_config *cfg;
	int fd;

	snprintf(path, size, "/tmp/pawl-test-config-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cfg = pawl_config_load(path, NULL, &err);
	unlink(path);
	return cfg;
}

/* A file whose settings sit under no section pawl reads is refused, naming what it has. */
static void test_load_needs_section(void)
{
	static const struct {
		const char *text, *want;
	} refused[] = {
		{ "[app:mian]\nuserid_hmac_secret = s\n", "(found [app:mian])" },
		{ "[kinto]\nreadonly = true\n[server:main]\nuse = egg:waitress\n", "(found [kinto])" },
		{ "userid_hmac_secret = s\n", "no section header" },
		{ "", "no section header" },
		{ "# [app:main]\n", "no section header" },
	};
	static const char *const accepted[] = {
		"[app:main]\n", "[server:main]\nport = 1\n\n  [pawl]  \nreadonly = true\n",
		"; comment\r\n[app:main]\r\nreadonly = true\r\n",
	};
	struct pawl_config *cfg;
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		cfg = load_text(refused[i].text, path, sizeof(path));
		CU_ASSERT_PTR_NULL(cfg);
		pawl_config_free(cfg);
		CU_ASSERT_EQUAL(err.code, PAWL_ERR_CONFIG);
		CU_ASSERT(contains(err.message, "no [app:main] or [pawl] section"));
		CU_ASSERT(contains(err.message, refused[i].want));
		CU_ASSERT(contains(err.message, path));
	}
	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		cfg = load_text(accepted[i], path, sizeof(path));
		CU_ASSERT_PTR_NOT_NULL(cfg);
		if (cfg == NULL)
			fprintf(stderr, "\n  refused: %s\n", err.message);
		pawl_config_free(cfg);
	}
}

/* The settings of the process: who it runs as and its socket file. */
static void test_process_settings(void)
{
	struct pawl_config *cfg = parse("[app:main]\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_PTR_NULL(cfg->user);
	CU_ASSERT_PTR_NULL(cfg->group);
	CU_ASSERT_PTR_NULL(cfg->socket_owner);
	CU_ASSERT_PTR_NULL(cfg->socket_group);
	CU_ASSERT_FALSE(cfg->allow_root);
	pawl_config_free(cfg);
	cfg = parse("[app:main]\nuser = pawl\ngroup = pawl\nsocket_owner = pawl\n"
	    "socket_group = www-data\nsocket_mode = 0640\nallow_root = yes\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->user, "pawl");
	CU_ASSERT_STRING_EQUAL(cfg->group, "pawl");
	CU_ASSERT_STRING_EQUAL(cfg->socket_owner, "pawl");
	CU_ASSERT_STRING_EQUAL(cfg->socket_group, "www-data");
	CU_ASSERT_EQUAL(cfg->socket_mode, 0640);
	CU_ASSERT_TRUE(cfg->allow_root);
	pawl_config_free(cfg);
	expect_error("[app:main]\nallow_root = maybe\n", "'allow_root'", "maybe");
}

void test_config_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "defaults", test_defaults },
		{ "no source name", test_no_source },
		{ "pawl./kinto./cliquet. prefixes", test_prefixes },
		{ "[app:main] and [pawl]", test_both_sections },
		{ "other sections ignored", test_ignored_sections },
		{ "use only ignored in [app:main]", test_use_only_in_app_main },
		{ "unknown key names the key", test_unknown_key },
		{ "conflicting names", test_conflict },
		{ "duplicate key in a section", test_duplicate_in_section },
		{ "env overrides a static key", test_env_static },
		{ "env overrides a family key", test_env_family_key },
		{ "env overrides a listener url", test_env_listener_url },
		{ "listener declared from env", test_env_listener_from_scratch },
		{ "PAWL_EVENT_LISTENERS= ignores the file's listeners", test_env_listeners_off },
		{ "malformed values in the file", test_malformed_file },
		{ "malformed values in env", test_malformed_env },
		{ "value types", test_values },
		{ "families kept verbatim", test_families_kept },
		{ "continuation lines", test_continuation_lines },
		{ "syntax errors", test_syntax_errors },
		{ "two redis listeners", test_two_redis_listeners },
		{ "listener defaults", test_listener_defaults },
		{ "plugin listener options", test_plugin_listener },
		{ "Kinto redis module", test_kinto_redis_module },
		{ "listener errors", test_listener_errors },
		{ "configured resources", test_resources },
		{ "configured resource errors", test_resource_errors },
		{ "a Kinto ini loads", test_kinto_ini },
		{ "load a file", test_load_file },
		{ "load errors name the path", test_load_errors },
		{ "free/get on NULL", test_free_and_get_null },
		{ "trusted_proxies", test_trusted_proxies },
		{ "CIDR matching", test_cidr_match },
		{ "default bucket secret", test_default_bucket_secret },
		{ "basicauth needs userid_hmac_secret", test_basicauth_needs_secret },
		{ "a file needs [app:main] or [pawl]", test_load_needs_section },
		{ "user, group, socket and allow_root settings", test_process_settings },
	};
	CU_pSuite suite = CU_add_suite("config", NULL, NULL);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}

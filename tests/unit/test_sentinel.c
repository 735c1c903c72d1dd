/*
 * A Redis listener through Sentinel, its pure parts: the `sentinels` list
 * (hostile entries included) and the settings that go with it, refused
 * when they contradict `url` or each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "events/listener_set.h"
#include "events/redis.h"
#include "unit.h"

static void test_sentinels_parse(void)
{
	struct pawl_redis_sentinels s;
	struct pawl_error err;

	CU_ASSERT_EQUAL_FATAL(pawl_redis_parse_sentinels("127.0.0.1:26379 127.0.0.2:26380", &s,
	    &err), PAWL_OK);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.at[0].host, "127.0.0.1");
	CU_ASSERT_EQUAL(s.at[0].port, 26379);
	CU_ASSERT_STRING_EQUAL(s.at[1].host, "127.0.0.2");
	CU_ASSERT_EQUAL(s.at[1].port, 26380);
	/* Commas, tabs, runs of separators; the default port; IPv6 in brackets. */
	CU_ASSERT_EQUAL_FATAL(pawl_redis_parse_sentinels(" ,s1,\t s2:1  [::1]:65535 ,", &s, &err),
	    PAWL_OK);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_STRING_EQUAL(s.at[0].host, "s1");
	CU_ASSERT_EQUAL(s.at[0].port, 26379);
	CU_ASSERT_STRING_EQUAL(s.at[1].host, "s2");
	CU_ASSERT_EQUAL(s.at[1].port, 1);
	CU_ASSERT_STRING_EQUAL(s.at[2].host, "::1");
	CU_ASSERT_EQUAL(s.at[2].port, 65535);
	CU_ASSERT_EQUAL_FATAL(pawl_redis_parse_sentinels("[::1]", &s, &err), PAWL_OK);
	CU_ASSERT_EQUAL(s.at[0].port, 26379);
}

static void refused(const char *list, const char *want)
{
	struct pawl_redis_sentinels s;
	struct pawl_error err;

	CU_ASSERT_EQUAL(pawl_redis_parse_sentinels(list, &s, &err), PAWL_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
	if (strstr(err.message, want) == NULL)
		fprintf(stderr, "\n  list: %s\n  got: %s\n  want: %s\n", list, err.message, want);
}

static void test_sentinels_refused(void)
{
	char many[16 * 20 + 1] = "", big[400];

	refused("", "empty");
	refused(" , \t", "empty");
	refused(NULL, "none given");
	refused("h:0", "'h:0': bad port");
	refused("h:65536", "bad port");
	refused("h:-1", "bad port");
	refused("h:26379x", "bad port");
	refused("h:", "bad port");
	refused("h:99999999999999999999", "bad port");
	refused(":26379", "missing or too long host");
	refused("[]:1", "missing or too long host");
	refused("[::1", "unclosed '['");
	refused("[::1]x", "expected ':' after ']'");
	refused("::1:26379", "IPv6 address goes in brackets");
	refused("ok:1 bad:port", "'bad:port': bad port");
	refused("h:1\nh:2", "control characters");
	for (int i = 0; i < 17; i++)
		strcat(many, "h:1 ");
	refused(many, "more than 16");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "missing or too long host");
}

static struct pawl_config *parse(const char *body, struct pawl_error *err)
{
	char text[2048];

	snprintf(text, sizeof(text), "[pawl]\nevent_listeners = q\nevent_listeners.q.use = redis\n%s",
	    body);
	return pawl_config_parse(text, "test.ini", NULL, err);
}

static void test_sentinel_settings(void)
{
	struct pawl_error err;
	struct pawl_redis *r = NULL;
	struct pawl_config *cfg = parse("event_listeners.q.sentinels = 127.0.0.1:26379 127.0.0.1:26380\n"
	    "event_listeners.q.sentinel_master = mymaster\nevent_listeners.q.sentinel_db = 3\n"
	    "event_listeners.q.sentinel_password = pw\nevent_listeners.q.wait_replicas = 1\n"
	    "event_listeners.q.sentinels_password = spw\n", &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].sentinels, "127.0.0.1:26379 127.0.0.1:26380");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].sentinel_master, "mymaster");
	CU_ASSERT_EQUAL(cfg->listeners[0].sentinel_db, 3);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].sentinel_password, "pw");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].sentinels_password, "spw");
	CU_ASSERT_EQUAL(cfg->listeners[0].wait_replicas, 1);
	CU_ASSERT_EQUAL(pawl_listener_redis_new(&cfg->listeners[0], 100, &r, &err), PAWL_OK);
	CU_ASSERT_PTR_NOT_NULL(r);
	pawl_redis_free(r);
	pawl_config_free(cfg);
	/* Without sentinels: the url as before, no WAIT. */
	cfg = parse("", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_PTR_NULL(cfg->listeners[0].sentinels);
	CU_ASSERT_EQUAL(cfg->listeners[0].wait_replicas, 0);
	pawl_config_free(cfg);
}

/* body after a redis listener q's first lines is refused, the message holding want. */
static void settings_refused(const char *body, const char *want)
{
	char text[2048];

	snprintf(text, sizeof(text), "[pawl]\nevent_listeners = q\nevent_listeners.q.use = redis\n%s",
	    body);
	unit_config_refused(text, want);
}

static void test_sentinel_settings_refused(void)
{
	struct pawl_error err;
	struct pawl_config *cfg;

	settings_refused("event_listeners.q.url = redis://127.0.0.1:6379/0\n"
	    "event_listeners.q.sentinels = 127.0.0.1:26379\nevent_listeners.q.sentinel_master = m\n",
	    "settings 'event_listeners.q.url' and 'event_listeners.q.sentinels' are both set");
	settings_refused("event_listeners.q.sentinels =\nevent_listeners.q.sentinel_master = m\n",
	    "setting 'event_listeners.q.sentinels' is empty");
	settings_refused("event_listeners.q.sentinels = 127.0.0.1:26379\n",
	    "needs 'event_listeners.q.sentinel_master'");
	settings_refused("event_listeners.q.sentinels = 127.0.0.1:26379\n"
	    "event_listeners.q.sentinel_master =\n", "needs 'event_listeners.q.sentinel_master'");
	settings_refused("event_listeners.q.sentinel_master = m\n",
	    "setting 'event_listeners.q.sentinel_master' applies to a Sentinel listener only");
	settings_refused("event_listeners.q.sentinels_password = x\n",
	    "setting 'event_listeners.q.sentinels_password' applies to a Sentinel listener only");
	settings_refused("event_listeners.q.sentinel_db = 2\n",
	    "setting 'event_listeners.q.sentinel_db' applies to a Sentinel listener only");
	settings_refused("event_listeners.q.wait_replicas = 17\n",
	    "'event_listeners.q.wait_replicas' must be an integer between 0 and 16");
	/* A list that parses in the config but not as addresses: refused when the handle is built. */
	cfg = parse("event_listeners.q.sentinels = 127.0.0.1:0\nevent_listeners.q.sentinel_master = m\n",
	    &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(pawl_listener_redis_new(&cfg->listeners[0], 100, NULL, &err), PAWL_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "setting 'event_listeners.q.sentinels': invalid "
	    "Sentinel address '127.0.0.1:0': bad port"));
	pawl_config_free(cfg);
	cfg = parse("event_listeners.q.sentinels = 127.0.0.1:1\n"
	    "event_listeners.q.sentinel_master = my master\n", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(pawl_listener_redis_new(&cfg->listeners[0], 100, NULL, &err), PAWL_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'event_listeners.q.sentinel_master': expected a name"));
	pawl_config_free(cfg);
	/*
	 * A password the handle cannot hold is refused, not cut short (it would
	 * never match). A file's line is shorter; the environment's is not.
	 */
	cfg = parse("event_listeners.q.sentinels = 127.0.0.1:1\n"
	    "event_listeners.q.sentinel_master = m\nevent_listeners.q.sentinels_password = x\n", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	{
		char *saved = cfg->listeners[0].sentinels_password, *long_pw = calloc(1, 301);

		CU_ASSERT_PTR_NOT_NULL_FATAL(long_pw);
		memset(long_pw, '7', 300);
		cfg->listeners[0].sentinels_password = long_pw;
		CU_ASSERT_EQUAL(pawl_listener_redis_new(&cfg->listeners[0], 100, NULL, &err),
		    PAWL_ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'event_listeners.q.sentinels_password': too long"));
		CU_ASSERT_PTR_NULL(strstr(err.message, "777"));
		cfg->listeners[0].sentinels_password = saved;
		free(long_pw);
	}
	pawl_config_free(cfg);
}

void test_sentinel_register(void)
{
	CU_pSuite s = CU_add_suite("sentinel", NULL, NULL);

	CU_add_test(s, "sentinels list", test_sentinels_parse);
	CU_add_test(s, "sentinels list refused", test_sentinels_refused);
	CU_add_test(s, "sentinel settings", test_sentinel_settings);
	CU_add_test(s, "sentinel settings refused", test_sentinel_settings_refused);
}

/*
 * The Redis stream listener's pure parts: its settings (type, maxlen,
 * stream_per_bucket, refused on a list) and the stream key of each event.
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "events/sink.h"
#include "unit.h"

static struct pawl_config *parse(const char *text, struct pawl_error *err)
{
	return pawl_config_parse(text, "test.ini", NULL, err);
}

static void test_stream_settings(void)
{
	struct pawl_error err;
	struct pawl_config *cfg = parse("[pawl]\nevent_listeners = q s\n"
	    "event_listeners.q.use = redis\n"
	    "event_listeners.s.use = redis\nevent_listeners.s.type = stream\n"
	    "event_listeners.s.maxlen = 10000\nevent_listeners.s.stream_per_bucket = true\n", &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].type, "list");
	CU_ASSERT_EQUAL(cfg->listeners[0].maxlen, 0);
	CU_ASSERT_FALSE(cfg->listeners[0].stream_per_bucket);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[1].type, "stream");
	CU_ASSERT_STRING_EQUAL(cfg->listeners[1].listname, "pawl.events");
	CU_ASSERT_EQUAL(cfg->listeners[1].maxlen, 10000);
	CU_ASSERT_TRUE(cfg->listeners[1].stream_per_bucket);
	pawl_config_free(cfg);
}

static void expect_refused(const char *text, const char *want)
{
	unit_config_refused(text, want);
}

static void test_stream_settings_refused(void)
{
	expect_refused("[pawl]\nevent_listeners = q\nevent_listeners.q.use = redis\n"
	    "event_listeners.q.type = queue\n", "'event_listeners.q.type' must be one of list, stream");
	expect_refused("[pawl]\nevent_listeners = q\nevent_listeners.q.use = redis\n"
	    "event_listeners.q.type = stream\nevent_listeners.q.maxlen = -1\n",
	    "'event_listeners.q.maxlen' must be an integer between 0 and 1000000000");
	expect_refused("[pawl]\nevent_listeners = q\nevent_listeners.q.use = redis\n"
	    "event_listeners.q.maxlen = 100\n",
	    "setting 'event_listeners.q.maxlen' applies to a stream only");
	expect_refused("[pawl]\nevent_listeners = q\nevent_listeners.q.use = redis\n"
	    "event_listeners.q.type = list\nevent_listeners.q.stream_per_bucket = yes\n",
	    "setting 'event_listeners.q.stream_per_bucket' applies to a stream only");
}

static void test_stream_key(void)
{
	struct pawl_arena *a = pawl_arena_new(4096);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", false, "/buckets/b/collections/c record"),
	    "ev");
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", true, "/buckets/b/collections/c record"),
	    "ev.b");
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", true, "/buckets/blog collection"),
	    "ev.blog");
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", true, "/buckets/b-1_x group"), "ev.b-1_x");
	/* Events of no bucket: the buckets list, a parentless resource. */
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", true, " bucket"), "ev");
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", true, "/mushrooms mushroom"), "ev");
	CU_ASSERT_STRING_EQUAL(pawl_sink_stream_key(a, "ev", true, "/buckets/ x"), "ev");
	pawl_arena_free(a);
}

void test_stream_register(void)
{
	CU_pSuite s = CU_add_suite("stream", NULL, NULL);

	CU_add_test(s, "stream listener settings", test_stream_settings);
	CU_add_test(s, "stream settings refused", test_stream_settings_refused);
	CU_add_test(s, "stream key per bucket", test_stream_key);
}

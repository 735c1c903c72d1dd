/*
 * The headers and bodies every resource response shares: ETag and
 * Last-Modified from a timestamp, {"data", "permissions"} of one object.
 */
#include <stdio.h>
#include <time.h>

#include "resource/resource.h"

void pawl_resource_timestamp_headers(struct pawl_response *resp, long long ts)
{
	char date[64];
	time_t secs = (time_t)(ts / 1000);
	struct tm tm;

	pawl_response_header(resp, "ETag", pawl_arena_printf(resp->arena, "\"%lld\"", ts));
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	pawl_response_header(resp, "Last-Modified", pawl_arena_strdup(resp->arena, date));
}

void pawl_resource_item_response(struct pawl_rctx *c, int status, const struct pawl_object *obj,
    const char *permissions)
{
	struct pawl_buf *b = &c->resp->body;

	c->resp->status = status;
	b->len = 0;
	pawl_buf_puts(b, "{\"data\":");
	pawl_buf_puts(b, obj->data);
	if (permissions != NULL) {
		pawl_buf_puts(b, ",\"permissions\":");
		pawl_buf_puts(b, permissions);
	}
	pawl_buf_putc(b, '}');
	pawl_resource_timestamp_headers(c->resp, obj->last_modified);
}

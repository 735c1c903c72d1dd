/*
 * libFuzzer target: raw bytes as a value a client controls (a path, a
 * User-Agent, a query string) through the log line builder. Whatever the
 * bytes, a JSON value must parse, hold no raw control character and be
 * well-formed UTF-8, and a text value must hold no control character: a
 * value never ends its line or forges another. Aborts on a violation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "core/log_line.h"
#include "core/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int ok)
{
	if (!ok)
		abort();
}

/* No byte of the rendered line below 0x20 or 0x7f; well-formed UTF-8. */
static void clean(const struct pawl_log_line *l)
{
	must(l->len < PAWL_LOG_LINE_MAX);
	must(!pawl_str_has_ctl(l->buf));
	must(pawl_str_utf8_valid(l->buf, l->len));
}

static void parses_as(const struct pawl_log_line *l, json_type type)
{
	json_object *o = json_tokener_parse(l->buf);

	must(o != NULL && json_object_is_type(o, type));
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pawl_log_line l;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* values are C strings: what follows a NUL is not logged */
	l.len = 0;
	pawl_log_line_json(&l, s, 1000);
	l.buf[l.len] = '\0';
	clean(&l);
	parses_as(&l, json_type_string);
	l.len = 0;
	pawl_log_line_query(&l, s, 800);
	l.buf[l.len] = '\0';
	clean(&l);
	parses_as(&l, json_type_object);
	l.len = 0;
	pawl_log_line_text(&l, s, 1000, size % 2 == 0);
	l.buf[l.len] = '\0';
	clean(&l);
	free(s);
	return 0;
}

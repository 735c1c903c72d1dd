/*
 * libFuzzer target: whatever the write path accepts must read back. Bytes go
 * through pawl_json_parse with a body's limits and the stored-depth check;
 * an accepted document is printed the way PostgreSQL's jsonb prints it
 * (numbers in plain decimal, no exponent, no negative zero; members sorted
 * shorter first, then bytewise, one per name) and parsed again with the
 * read path's limit: it must parse, and be equal in value to what was sent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"

#define BODY_DEPTH 64 /* max_json_depth's default */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A number literal (as json-c kept it) in jsonb's plain decimal form. */
static void put_plain(struct pawl_buf *b, const char *t)
{
	char digits[4096];
	size_t n = 0, int_len = 0, frac_len = 0, i;
	long exp = 0, point;
	bool neg = false, zero = true;

	if (*t == '-')
		neg = *t++ == '-';
	for (; *t >= '0' && *t <= '9' && n < sizeof(digits); t++, int_len++)
		digits[n++] = *t;
	if (*t == '.')
		for (t++; *t >= '0' && *t <= '9' && n < sizeof(digits); t++, frac_len++)
			digits[n++] = *t;
	if (*t == 'e' || *t == 'E')
		exp = strtol(t + 1, NULL, 10);
	if (n == sizeof(digits) || exp > 1000 || exp < -1000)
		abort(); /* the write path bounds both */
	for (i = 0; i < n; i++)
		zero = zero && digits[i] == '0';
	if (neg && !zero)
		pawl_buf_putc(b, '-');
	point = (long)int_len + exp; /* digits before the point */
	if (point <= 0) {
		pawl_buf_putc(b, '0');
	} else {
		bool lead = true;

		for (i = 0; i < (size_t)point; i++) {
			char c = i < n ? digits[i] : '0';

			if (lead && c == '0' && i + 1 < (size_t)point)
				continue;
			lead = false;
			pawl_buf_putc(b, c);
		}
	}
	if ((long)frac_len - exp <= 0)
		return;
	pawl_buf_putc(b, '.');
	for (i = 0; point < 0 && i < (size_t)-point; i++)
		pawl_buf_putc(b, '0');
	if (point < (long)n)
		pawl_buf_append(b, digits + (point > 0 ? point : 0), n - (size_t)(point > 0 ? point : 0));
}

static int jsonb_key_order(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static void put_jsonb(struct pawl_buf *b, struct pawl_arena *arena, json_object *v)
{
	const char **keys;
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_null:
		pawl_buf_puts(b, "null");
		return;
	case json_type_boolean:
		pawl_buf_puts(b, json_object_get_boolean(v) ? "true" : "false");
		return;
	case json_type_int:
	case json_type_double:
		put_plain(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		return;
	case json_type_string:
		pawl_buf_json_string(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	case json_type_array:
		pawl_buf_putc(b, '[');
		for (i = 0; i < json_object_array_length(v); i++) {
			if (i)
				pawl_buf_puts(b, ", ");
			put_jsonb(b, arena, json_object_array_get_idx(v, i));
		}
		pawl_buf_putc(b, ']');
		return;
	case json_type_object:
		n = (size_t)json_object_object_length(v);
		if ((keys = pawl_arena_calloc(arena, n + 1, sizeof(*keys))) == NULL)
			abort();
		i = 0;
		json_object_object_foreach(v, key, unused) {
			(void)unused;
			keys[i++] = key;
		}
		qsort(keys, n, sizeof(*keys), jsonb_key_order);
		pawl_buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			json_object *m = NULL;

			json_object_object_get_ex(v, keys[i], &m);
			pawl_buf_puts(b, i ? ", " : "");
			pawl_buf_json_string(b, keys[i], strlen(keys[i]));
			pawl_buf_puts(b, ": ");
			put_jsonb(b, arena, m);
		}
		pawl_buf_putc(b, '}');
		return;
	}
}

static bool is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* Equal in value: numbers as numbers (1e5 and 100000 are one value), the rest by structure. */
static bool same(json_object *a, json_object *b)
{
	size_t i;

	if (is_number(a) && is_number(b)) {
		if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
			return json_object_get_int64(a) == json_object_get_int64(b) &&
			    json_object_get_uint64(a) == json_object_get_uint64(b);
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (json_object_get_type(a) != json_object_get_type(b))
		return false;
	switch (json_object_get_type(a)) {
	case json_type_array:
		if (json_object_array_length(a) != json_object_array_length(b))
			return false;
		for (i = 0; i < json_object_array_length(a); i++)
			if (!same(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
				return false;
		return true;
	case json_type_object: {
		if (json_object_object_length(a) != json_object_object_length(b))
			return false;
		json_object_object_foreach(a, key, va) {
			json_object *vb;

			if (!json_object_object_get_ex(b, key, &vb) || !same(va, vb))
				return false;
		}
		return true;
	}
	default:
		return json_object_equal(a, b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pawl_arena *arena;
	struct pawl_error err;
	json_object *sent = NULL, *read = NULL;
	struct pawl_buf b;

	if (arena == NULL && (arena = pawl_arena_new(65536)) == NULL)
		abort();
	if (pawl_json_parse(arena, (const char *)data, size, BODY_DEPTH, &sent, &err) != PAWL_OK ||
	    pawl_json_deeper_than(sent, BODY_DEPTH - 1)) {
		pawl_arena_reset(arena);
		return 0;
	}
	pawl_buf_init(&b, arena);
	put_jsonb(&b, arena, sent);
	if (b.failed)
		abort();
	if (pawl_json_parse(arena, b.data, b.len, PAWL_JSON_STORED_DEPTH, &read, &err) != PAWL_OK) {
		fprintf(stderr, "stored form does not parse: %s\n%.*s\n", err.message, (int)b.len, b.data);
		abort();
	}
	if (!same(sent, read)) {
		fprintf(stderr, "stored form differs:\n%.*s\n", (int)b.len, b.data);
		abort();
	}
	pawl_arena_reset(arena);
	return 0;
}

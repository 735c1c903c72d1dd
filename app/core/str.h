/*
 * Growable byte buffers in the request arena, and small string helpers that
 * the parsers share. Buffers never allocate outside their arena.
 */
#ifndef PAWL_STR_H
#define PAWL_STR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

struct pawl_buf {
	struct pawl_arena *arena;
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: contents are incomplete */
};

void pawl_buf_init(struct pawl_buf *buf, struct pawl_arena *arena);
void pawl_buf_append(struct pawl_buf *buf, const void *data, size_t len);
void pawl_buf_puts(struct pawl_buf *buf, const char *s);
void pawl_buf_putc(struct pawl_buf *buf, char c);
void pawl_buf_printf(struct pawl_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void pawl_buf_json_string(struct pawl_buf *buf, const char *s, size_t len);
/* Appends s percent-encoded except RFC 3986 unreserved characters and '/'. */
void pawl_buf_urlencode(struct pawl_buf *buf, const char *s, size_t len, bool keep_slash);

/*
 * Decodes %XX escapes of s[0..len) into the arena ('+' stays '+': paths).
 * Returns NULL on a bad escape, an embedded NUL or OOM; *out_len gets the length.
 */
char *pawl_str_urldecode(struct pawl_arena *arena, const char *s, size_t len,
    bool plus_is_space, size_t *out_len);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool pawl_str_utf8_valid(const char *s, size_t len);

/* Case-insensitive ASCII comparisons. */
bool pawl_str_ieq(const char *a, const char *b);
bool pawl_str_iprefix(const char *s, const char *prefix);

/*
 * The largest integer pawl reads from a client's text (a Content-Length, an
 * ETag's timestamp, _limit): far beyond any real value, yet a quarter of the
 * range short of LLONG_MAX, so adding a day or a margin to it cannot overflow.
 */
#define PAWL_STR_INT_MAX (1LL << 62)

/* Parses a base-10 integer in [min, max] filling the whole string. */
bool pawl_str_to_ll(const char *s, long long min, long long max, long long *out);

/* True when s contains a byte below 0x20 or 0x7f. */
bool pawl_str_has_ctl(const char *s);

#endif

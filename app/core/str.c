/*
 * Arena-backed growable buffers and the small string helpers the parsers
 * share: JSON string escaping, URL encoding and decoding, strict UTF-8 and
 * integer checks. Nothing here may allocate outside the caller's arena or
 * depend on the locale.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

#define BUF_MIN_CAP 64u

static const char hexdigits_lower[] = "0123456789abcdef";
static const char hexdigits_upper[] = "0123456789ABCDEF";

void pawl_buf_init(struct pawl_buf *buf, struct pawl_arena *arena)
{
	buf->arena = arena;
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->failed = false;
}

/*
 * Makes room for `more` bytes plus the terminating NUL. The arena cannot free,
 * so the old block is abandoned; doubling keeps the waste under the final size.
 */
static bool buf_reserve(struct pawl_buf *buf, size_t more)
{
	size_t need, cap;
	char *data;

	if (buf->failed)
		return false;
	if (more > SIZE_MAX - buf->len - 1) {
		buf->failed = true;
		return false;
	}
	need = buf->len + more + 1;
	if (need <= buf->cap)
		return true;
	cap = buf->cap < BUF_MIN_CAP ? BUF_MIN_CAP : buf->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	data = pawl_arena_alloc(buf->arena, cap);
	if (data == NULL) {
		buf->failed = true;
		return false;
	}
	if (buf->data != NULL)
		memcpy(data, buf->data, buf->len + 1);
	else
		data[0] = '\0';
	buf->data = data;
	buf->cap = cap;
	return true;
}

void pawl_buf_append(struct pawl_buf *buf, const void *data, size_t len)
{
	if (!buf_reserve(buf, len))
		return;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void pawl_buf_puts(struct pawl_buf *buf, const char *s)
{
	if (s != NULL)
		pawl_buf_append(buf, s, strlen(s));
}

void pawl_buf_putc(struct pawl_buf *buf, char c)
{
	pawl_buf_append(buf, &c, 1);
}

void pawl_buf_printf(struct pawl_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf_reserve(buf, 0))
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf->failed = true;
		buf->data[buf->len] = '\0';
		return;
	}
	if ((size_t)n >= buf->cap - buf->len) {
		if (!buf_reserve(buf, (size_t)n)) {
			buf->data[buf->len] = '\0';
			return;
		}
		va_start(ap, fmt);
		vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
		va_end(ap);
	}
	buf->len += (size_t)n;
}

/*
 * Length of the well-formed UTF-8 sequence starting at p (n bytes available),
 * or 0 when it is malformed: bad lead or continuation byte, overlong form,
 * UTF-16 surrogate, code point above U+10FFFF, or truncated.
 */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* continuation byte, C0/C1 overlong lead, or > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0; /* overlong 3-byte */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates U+D800..U+DFFF */
	else if (c == 0xf0)
		lo = 0x90; /* overlong 4-byte */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

bool pawl_str_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void pawl_buf_json_string(struct pawl_buf *buf, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, n;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	pawl_buf_putc(buf, '"');
	while (i < len) {
		/* Copy the longest stretch that needs no escaping in one go. */
		for (run = i; run < len; run += n) {
			if (p[run] < 0x20 || p[run] == '"' || p[run] == '\\')
				break;
			n = utf8_seq(p + run, len - run);
			if (n == 0)
				break;
		}
		pawl_buf_append(buf, p + i, run - i);
		i = run;
		if (i == len)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			pawl_buf_putc(buf, '\\');
			pawl_buf_putc(buf, (char)p[i]);
		} else if (p[i] < 0x20) {
			esc[4] = hexdigits_lower[p[i] >> 4];
			esc[5] = hexdigits_lower[p[i] & 0xf];
			pawl_buf_append(buf, esc, sizeof(esc));
		} else {
			pawl_buf_append(buf, "\xef\xbf\xbd", 3); /* U+FFFD for a bad byte */
		}
		i++;
	}
	pawl_buf_putc(buf, '"');
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

void pawl_buf_urlencode(struct pawl_buf *buf, const char *s, size_t len, bool keep_slash)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[3] = { '%', 0, 0 };
	size_t i;

	if (!buf_reserve(buf, 0))
		return;
	for (i = 0; i < len; i++) {
		if (is_unreserved(p[i]) || (keep_slash && p[i] == '/')) {
			pawl_buf_putc(buf, (char)p[i]);
			continue;
		}
		esc[1] = hexdigits_upper[p[i] >> 4];
		esc[2] = hexdigits_upper[p[i] & 0xf];
		pawl_buf_append(buf, esc, sizeof(esc));
	}
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *pawl_str_urldecode(struct pawl_arena *arena, const char *s, size_t len,
    bool plus_is_space, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out;
	size_t i, o = 0;
	int hi, lo;

	if (out_len != NULL)
		*out_len = 0;
	if (len == SIZE_MAX || (out = pawl_arena_alloc(arena, len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++, o++) {
		if (p[i] == '%') {
			if (len - i < 3 || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
				return NULL;
			out[o] = (char)(hi << 4 | lo);
			i += 2;
		} else if (p[i] == '+' && plus_is_space) {
			out[o] = ' ';
		} else {
			out[o] = (char)p[i];
		}
		if (out[o] == '\0')
			return NULL;
	}
	out[o] = '\0';
	if (out_len != NULL)
		*out_len = o;
	return out;
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool pawl_str_ieq(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	if (a == NULL || b == NULL)
		return a == b;
	for (; *x != '\0' && ascii_lower(*x) == ascii_lower(*y); x++, y++)
		;
	return *x == '\0' && *y == '\0';
}

bool pawl_str_iprefix(const char *s, const char *prefix)
{
	const unsigned char *x = (const unsigned char *)s;
	const unsigned char *y = (const unsigned char *)prefix;

	if (s == NULL || prefix == NULL)
		return false;
	for (; *y != '\0'; x++, y++)
		if (*x == '\0' || ascii_lower(*x) != ascii_lower(*y))
			return false;
	return true;
}

/*
 * Strict: an optional '-' then one or more ASCII digits, nothing else (no
 * spaces, no '+', no hex). Accumulates negatively so LLONG_MIN fits.
 */
bool pawl_str_to_ll(const char *s, long long min, long long max, long long *out)
{
	bool neg = false;
	long long v = 0;
	int d;

	if (s == NULL || out == NULL)
		return false;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		d = *s - '0';
		if (v < (LLONG_MIN + d) / 10)
			return false;
		v = v * 10 - d;
	}
	if (!neg) {
		if (v == LLONG_MIN)
			return false;
		v = -v;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool pawl_str_has_ctl(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return false;
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

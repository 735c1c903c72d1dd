/*
 * The log line builder: a fixed buffer that never overflows, and the
 * escaping of values in both formats. A value here may come from a client
 * (a path, a User-Agent, a query string): nothing it holds may end the
 * record, forge another one or make the JSON unparseable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log_line.h"

static const char hex[] = "0123456789abcdef";

void pawl_log_line_put(struct pawl_log_line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len; /* one byte kept for the newline */

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

void pawl_log_line_puts(struct pawl_log_line *l, const char *s)
{
	pawl_log_line_put(l, s, strlen(s));
}

void pawl_log_line_printf(struct pawl_log_line *l, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		pawl_log_line_put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void pawl_log_line_end(struct pawl_log_line *l)
{
	l->buf[l->len++] = '\n';
}

static bool cont(unsigned char c)
{
	return c >= 0x80 && c <= 0xbf;
}

/*
 * The length of the well-formed UTF-8 character at s (RFC 3629: no
 * overlongs, no surrogates, nothing past U+10FFFF), or 0 for a stray byte.
 * Reads no further than a NUL, which is never a continuation byte.
 */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return cont(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && cont(s[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && cont(s[2]) && cont(s[3]) ? 4 : 0;
	}
	return 0;
}

void pawl_log_line_json(struct pawl_log_line *l, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t out = 0;

	if (s == NULL) {
		pawl_log_line_puts(l, "null");
		return;
	}
	pawl_log_line_puts(l, "\"");
	while (*p != '\0') {
		char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xf] };
		const char *piece = (const char *)p;
		size_t n = utf8_len(p), w = n;

		if (n == 1 && (*p == '"' || *p == '\\')) {
			esc[1] = (char)*p;
			piece = esc;
			w = 2;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			piece = esc;
			w = sizeof(esc);
		} else if (n == 0) {
			piece = "\\ufffd";
			w = 6;
			n = 1;
		}
		if (out + w > max) {
			pawl_log_line_puts(l, "...");
			break;
		}
		pawl_log_line_put(l, piece, w);
		out += w;
		p += n;
	}
	pawl_log_line_puts(l, "\"");
}

void pawl_log_line_text(struct pawl_log_line *l, const char *s, size_t max, bool quoted)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t out = 0;

	if (s == NULL) {
		pawl_log_line_puts(l, "-");
		return;
	}
	if (quoted)
		pawl_log_line_puts(l, "\"");
	while (*p != '\0') {
		char esc[4] = { '\\', 'x', hex[*p >> 4], hex[*p & 0xf] };
		const char *piece = (const char *)p;
		size_t n = utf8_len(p), w = n;

		if (n == 1 && (*p == '\n' || *p == '\t' || (quoted && (*p == '"' || *p == '\\')))) {
			esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : (char)*p;
			piece = esc;
			w = 2;
		} else if (n == 0 || *p < 0x20 || *p == 0x7f) {
			piece = esc;
			w = sizeof(esc);
			n = 1;
		}
		if (out + w > max) {
			pawl_log_line_puts(l, "...");
			break;
		}
		pawl_log_line_put(l, piece, w);
		out += w;
		p += n;
	}
	if (quoted)
		pawl_log_line_puts(l, "\"");
}

/* --- the query string as an object ------------------------------------------------ */

#define QUERY_MAX_PAIRS 64  /* the rest of a longer query string is not shown */
#define QUERY_NAME_MAX 256
#define QUERY_VALUE_MAX 768

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) decoded into out (NUL-terminated, cut at cap); "%00" and bad escapes stay as sent. */
static void decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < cap; i++) {
		int h = i + 2 < n && s[i] == '%' ? hexval(s[i + 1]) : -1;
		int lo = h >= 0 ? hexval(s[i + 2]) : -1;

		if (lo >= 0 && (h | lo) != 0) {
			out[o++] = (char)(h * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
}

struct pair {
	const char *at;
	size_t len, name_len;
};

/* Whether a later pair has the same name as pairs[i] (then that one is shown). */
static bool overridden(const struct pair *pairs, size_t n, size_t i)
{
	size_t j;

	for (j = i + 1; j < n; j++)
		if (pairs[j].name_len == pairs[i].name_len &&
		    memcmp(pairs[j].at, pairs[i].at, pairs[i].name_len) == 0)
			return true;
	return false;
}

static size_t split(const char *query, struct pair *pairs)
{
	const char *p = query;
	size_t n = 0;

	while (p != NULL && *p != '\0' && n < QUERY_MAX_PAIRS) {
		size_t len = strcspn(p, "&");

		if (len > 0) {
			pairs[n].at = p;
			pairs[n].len = len;
			pairs[n].name_len = strcspn(p, "=&");
			n++;
		}
		p += len + (p[len] == '&');
	}
	return n;
}

void pawl_log_line_query(struct pawl_log_line *l, const char *query, size_t max)
{
	struct pair pairs[QUERY_MAX_PAIRS];
	char name[QUERY_NAME_MAX], value[QUERY_VALUE_MAX];
	size_t n = split(query, pairs), i, start = l->len, before;
	bool first = true;

	pawl_log_line_puts(l, "{");
	for (i = 0; i < n; i++) {
		const struct pair *q = &pairs[i];
		size_t vlen = q->len > q->name_len ? q->len - q->name_len - 1 : 0;

		if (overridden(pairs, n, i))
			continue;
		decode(q->at, q->name_len, name, sizeof(name));
		decode(q->at + q->len - vlen, vlen, value, sizeof(value));
		before = l->len;
		pawl_log_line_puts(l, first ? "" : ",");
		pawl_log_line_json(l, name, sizeof(name));
		pawl_log_line_puts(l, ":");
		pawl_log_line_json(l, value, sizeof(value));
		if (l->len - start + 1 > max || l->len + 1 >= sizeof(l->buf) - 1) {
			l->len = before; /* whole pairs only: the object stays valid JSON */
			break;
		}
		first = false;
	}
	pawl_log_line_puts(l, "}");
}

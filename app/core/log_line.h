/*
 * One log record under construction, for core/log.c: a fixed buffer that
 * leaves in one write(2), and the escaping that keeps a record on one line
 * and parseable whatever its values hold. Pure (no I/O), so unit tests
 * render hostile values into it directly.
 */
#ifndef PAWL_LOG_LINE_H
#define PAWL_LOG_LINE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * PIPE_BUF: one write(2) of a line this long to a pipe is never interleaved
 * with another process's. Callers cap each value (the max arguments below)
 * so that a whole record fits: a line that still overflows is cut, and the
 * put functions never write past the last byte, kept for the newline.
 */
#define PAWL_LOG_LINE_MAX 4096

struct pawl_log_line {
	char buf[PAWL_LOG_LINE_MAX];
	size_t len;
};

void pawl_log_line_put(struct pawl_log_line *l, const char *s, size_t n);
void pawl_log_line_puts(struct pawl_log_line *l, const char *s);
void pawl_log_line_printf(struct pawl_log_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * s as a JSON string literal, quotes included, or null when s is NULL. '"',
 * '\\' and every byte below 0x20 or 0x7f are escaped; a byte that is not
 * part of well-formed UTF-8 becomes \ufffd, so the line is valid JSON. Past
 * about max bytes of output the value is cut (never inside a character) and
 * ends with "...".
 */
void pawl_log_line_json(struct pawl_log_line *l, const char *s, size_t max);

/*
 * s for a text line: control characters as \n, \t or \xHH, broken UTF-8 as
 * \xHH; quoted: inside double quotes, with '"' and '\\' escaped too (a value
 * a client chose). NULL is "-". Cut past about max bytes, ending "...".
 */
void pawl_log_line_text(struct pawl_log_line *l, const char *s, size_t max, bool quoted);

/*
 * A query string (raw, as sent: "a=1&b=x%20y") as a JSON object of its
 * pairs, names and values percent-decoded ('+' is a space) and a name given
 * twice keeping its last value, as Kinto's request.summary shows it. A bad
 * escape stays as written. Pairs that would take the object past max bytes
 * are left out. NULL or "" gives {}.
 */
void pawl_log_line_query(struct pawl_log_line *l, const char *query, size_t max);

/* The end of a record: a newline (always room for it). */
void pawl_log_line_end(struct pawl_log_line *l);

#endif

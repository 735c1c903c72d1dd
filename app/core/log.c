/*
 * Log lines on stderr: JSON objects (type, severity, pid, fields) for
 * production, or plain text. Must never print Authorization headers, passwords
 * or request bodies: callers pass only what is safe.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pawl/log.h"

/* Set at startup before any worker exists; read-only afterwards. */
static enum pawl_log_level min_level = PAWL_LOG_INFO;
static int as_json = 1;

static const char *level_names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };

static enum pawl_log_level level_parse(const char *name)
{
	if (name != NULL && strcmp(name, "debug") == 0)
		return PAWL_LOG_DEBUG;
	if (name != NULL && strcmp(name, "warning") == 0)
		return PAWL_LOG_WARN;
	if (name != NULL && strcmp(name, "error") == 0)
		return PAWL_LOG_ERROR;
	return PAWL_LOG_INFO;
}

void pawl_log_configure(const char *level, const char *format)
{
	pawl_log_setup(level_parse(level), format == NULL || strcmp(format, "text") != 0);
}

void pawl_log_setup(enum pawl_log_level level, int json)
{
	min_level = level;
	as_json = json;
}

void pawl_log_reopen(void)
{
	pawl_log(PAWL_LOG_INFO, "app", "SIGUSR1: logs go to stderr, whose owner reopens it; "
	    "nothing to reopen here");
}

/*
 * A line is built in one buffer and leaves in one write(2): stderr is
 * unbuffered, so stdio would make a system call per fragment, and several
 * workers share the descriptor -- one write of a line up to PIPE_BUF bytes is
 * never interleaved with another worker's.
 */
#define LINE_MAX_BYTES 4096
/* A string field is cut past this (and ends "..."), so a JSON line stays whole. */
#define FIELD_MAX_BYTES 1000

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len; /* one byte kept for the newline */

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void printf_(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void printf_(struct line *l, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void json_str(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;
	size_t start;
	bool cut = false;

	puts_(l, "\"");
	start = l->len;
	for (run = s; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

		if ((size_t)(s - run) + l->len - start >= FIELD_MAX_BYTES) {
			while (s > run && ((unsigned char)*s & 0xc0) == 0x80)
				s--; /* not inside a UTF-8 sequence */
			cut = true;
			break;
		}
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		put(l, run, (size_t)(s - run));
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			put(l, esc, 2);
		} else {
			put(l, esc, sizeof(esc));
		}
		run = s + 1;
	}
	if (s != NULL)
		put(l, run, (size_t)(s - run));
	puts_(l, cut ? "...\"" : "\"");
}

static void emit(struct line *l)
{
	size_t off = 0;
	ssize_t n;

	l->buf[l->len++] = '\n';
	while (off < l->len) {
		n = write(STDERR_FILENO, l->buf + off, l->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere to report a failing log */
		off += (size_t)n;
	}
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void pawl_log(enum pawl_log_level level, const char *type, const char *fmt, ...)
{
	char msg[1024];
	struct line l;
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l.len = 0;
	if (as_json) {
		printf_(&l, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":", now_ns());
		json_str(&l, type);
		printf_(&l, ",\"Severity\":\"%s\",\"Pid\":%ld,\"Fields\":{\"msg\":",
		    level_names[level], (long)getpid());
		json_str(&l, msg);
		puts_(&l, "}}");
	} else {
		printf_(&l, "pawl[%ld] %s %s: ", (long)getpid(), level_names[level], type);
		puts_(&l, msg);
	}
	emit(&l);
}

void pawl_log_request(const struct pawl_log_summary *s)
{
	struct line l;

	if (PAWL_LOG_INFO < min_level)
		return;
	l.len = 0;
	if (!as_json) {
		printf_(&l, "pawl[%ld] %s ", (long)getpid(), s->method ? s->method : "-");
		puts_(&l, s->path ? s->path : "-");
		printf_(&l, " -> %d (%.2f ms)", s->status, s->ms);
		if (s->user_id) {
			puts_(&l, " ");
			puts_(&l, s->user_id);
		}
		emit(&l);
		return;
	}
	printf_(&l, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":\"request.summary\","
	    "\"Severity\":\"INFO\",\"Pid\":%ld,\"Fields\":{\"method\":", now_ns(), (long)getpid());
	json_str(&l, s->method);
	puts_(&l, ",\"path\":");
	json_str(&l, s->path);
	printf_(&l, ",\"code\":%d,\"errno\":%d,\"t\":%.3f,\"uid\":", s->status, s->errno_, s->ms);
	if (s->user_id)
		json_str(&l, s->user_id);
	else
		puts_(&l, "null");
	puts_(&l, ",\"agent\":");
	json_str(&l, s->agent ? s->agent : "");
	puts_(&l, "}}");
	emit(&l);
}

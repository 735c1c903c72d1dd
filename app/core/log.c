/*
 * Log lines on stderr or in a file (log_file, reopened on SIGUSR1): JSON
 * objects (type, severity, pid, fields) for production, or plain text with an
 * ISO 8601 timestamp. One record is one line: control characters are escaped
 * in both formats. Identical warnings and errors repeated within a window are
 * counted, not written. Must never print Authorization headers, passwords or
 * request bodies: callers pass only what is safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

/*
 * The logger's state, one per process: set at startup (and by a reload or
 * SIGUSR1, between requests), read by every line. A logger is process-wide
 * by nature, like syslog's; nothing else in pawl keeps mutable globals.
 */
static enum pawl_log_level min_level = PAWL_LOG_INFO;
static int as_json = 1;
static char *log_path;        /* NULL: stderr as inherited */
static int saved_stderr = -1; /* the inherited stderr, once a file replaced it */

/*
 * Throttling: the same warning or error (level, type and text) written again
 * within THROTTLE_WINDOW_MS is counted instead; the first one after the
 * window says how many were dropped. A few slots, replaced oldest first, so
 * two alternating messages (a dead database, a dead Redis) are both held.
 */
#define THROTTLE_SLOTS 8
#define THROTTLE_WINDOW_MS 10000

struct throttle {
	unsigned long hash;   /* 0: free */
	long long since_ms;   /* when it was last written */
	unsigned long dropped;
};

static struct throttle throttled[THROTTLE_SLOTS];
static long long throttle_window_ms = THROTTLE_WINDOW_MS;

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

/*
 * Makes path, opened for appending, the process's stderr: pawl's lines and
 * whatever else writes there (a sanitizer's report, a library) land in the
 * one file, as nginx does with its error log.
 */
static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	if (saved_stderr < 0 && (saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0) {
		close(fd);
		return -1;
	}
	if (dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int pawl_log_open(const char *path)
{
	char *copy;

	if (path == NULL || *path == '\0') {
		if (saved_stderr >= 0)
			dup2(saved_stderr, STDERR_FILENO);
		free(log_path);
		log_path = NULL;
		return 0;
	}
	if (log_path != NULL && strcmp(log_path, path) == 0)
		return 0;
	if ((copy = strdup(path)) == NULL || open_log(path) != 0) {
		int saved = errno;

		free(copy);
		errno = saved;
		return -1;
	}
	free(log_path);
	log_path = copy;
	return 0;
}

void pawl_log_reopen(void)
{
	if (log_path == NULL) {
		pawl_log(PAWL_LOG_INFO, "app", "SIGUSR1: logs go to stderr, whose owner reopens it; "
		    "nothing to reopen here");
		return;
	}
	if (open_log(log_path) != 0) {
		pawl_log(PAWL_LOG_ERROR, "app", "SIGUSR1: cannot reopen %s: %s; still writing to "
		    "the file open before", log_path, strerror(errno));
		return;
	}
	pawl_log(PAWL_LOG_INFO, "app", "SIGUSR1: reopened %s", log_path);
}

void pawl_log_throttle_window(long long ms)
{
	throttle_window_ms = ms;
	memset(throttled, 0, sizeof(throttled));
}

static unsigned long hash_of(enum pawl_log_level level, const char *type, const char *msg)
{
	unsigned long h = 5381 + (unsigned long)level;

	for (; *type; type++)
		h = h * 33 + (unsigned char)*type;
	for (; *msg; msg++)
		h = h * 33 + (unsigned char)*msg;
	return h ? h : 1;
}

/*
 * Whether this record is written; *dropped: how many copies were not, since
 * the last one written.
 */
static bool throttle_pass(enum pawl_log_level level, const char *type, const char *msg,
    unsigned long *dropped)
{
	unsigned long h;
	long long now;
	size_t i, oldest = 0;

	*dropped = 0;
	if (level < PAWL_LOG_WARN || throttle_window_ms <= 0)
		return true;
	h = hash_of(level, type, msg);
	now = pawl_clock_mono_ms();
	for (i = 0; i < THROTTLE_SLOTS; i++) {
		if (throttled[i].hash == h) {
			if (now - throttled[i].since_ms < throttle_window_ms) {
				throttled[i].dropped++;
				return false;
			}
			*dropped = throttled[i].dropped;
			throttled[i].dropped = 0;
			throttled[i].since_ms = now;
			return true;
		}
		if (throttled[i].since_ms < throttled[oldest].since_ms)
			oldest = i;
	}
	throttled[oldest] = (struct throttle){ h, now, 0 };
	return true;
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

/* Text format: control characters as \n, \t or \xHH, so a record stays one line. */
static void text_str(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

		if (c >= 0x20 && c != 0x7f)
			continue;
		put(l, run, (size_t)(s - run));
		if (c == '\n' || c == '\t') {
			esc[1] = c == '\n' ? 'n' : 't';
			put(l, esc, 2);
		} else {
			put(l, esc, sizeof(esc));
		}
		run = s + 1;
	}
	if (s != NULL)
		put(l, run, (size_t)(s - run));
}

/* "2026-12-07T03:15:00.123Z pawl[123] ": the start of every text line. */
static void text_prefix(struct line *l)
{
	long long ns = pawl_clock_wall_ns();
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	char when[32];

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	printf_(l, "%s.%03dZ pawl[%ld] ", when, (int)(ns / 1000000 % 1000), (long)getpid());
}

void pawl_log(enum pawl_log_level level, const char *type, const char *fmt, ...)
{
	char msg[1024];
	struct line l;
	unsigned long dropped;
	va_list ap;
	size_t n;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* libpq's messages end with a newline: one record, one line. */
	for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '); n--)
		msg[n - 1] = '\0';
	if (!throttle_pass(level, type, msg, &dropped))
		return;
	if (dropped > 0 && strlen(msg) + 64 < sizeof(msg))
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    " (and %lu more like it in the last %lld s)", dropped,
		    (throttle_window_ms + 999) / 1000);
	l.len = 0;
	if (as_json) {
		printf_(&l, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":", pawl_clock_wall_ns());
		json_str(&l, type);
		printf_(&l, ",\"Severity\":\"%s\",\"Pid\":%ld,\"Fields\":{\"msg\":",
		    level_names[level], (long)getpid());
		json_str(&l, msg);
		puts_(&l, "}}");
	} else {
		text_prefix(&l);
		printf_(&l, "%s ", level_names[level]);
		text_str(&l, type);
		puts_(&l, ": ");
		text_str(&l, msg);
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
		text_prefix(&l);
		text_str(&l, s->method ? s->method : "-");
		puts_(&l, " ");
		text_str(&l, s->path ? s->path : "-");
		printf_(&l, " -> %d (%.2f ms)", s->status, s->ms);
		if (s->user_id) {
			puts_(&l, " ");
			text_str(&l, s->user_id);
		}
		emit(&l);
		return;
	}
	printf_(&l, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":\"request.summary\","
	    "\"Severity\":\"INFO\",\"Pid\":%ld,\"Fields\":{\"method\":", pawl_clock_wall_ns(), (long)getpid());
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

/*
 * Log lines on stderr (the default, for journald or docker) or in a file
 * (log_file, reopened on SIGUSR1): JSON objects (type, severity, pid,
 * fields) for production, or plain text with an ISO 8601 timestamp. One
 * record is one line: control characters are escaped in both formats
 * (core/log_line.c), and lines written while a request is handled carry its
 * id. Identical warnings and errors repeated within a window are
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
#include "core/log_line.h"

/*
 * The logger's state, one per process: set at startup (and by a reload or
 * SIGUSR1, between requests), read by every line. A logger is process-wide
 * by nature, like syslog's; nothing else in pawl keeps mutable globals.
 */
static enum pawl_log_level min_level = PAWL_LOG_INFO;
static int as_json = 1;
static char *log_path;        /* NULL: stderr as inherited */
static char request_id[PAWL_LOG_RID_MAX + 1]; /* "": no request being handled */
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
 * A line is built in one buffer (core/log_line.c) and leaves in one
 * write(2): stderr is unbuffered, so stdio would make a system call per
 * fragment, and several workers share the descriptor -- one write of a line
 * up to PIPE_BUF bytes is never interleaved with another worker's.
 */
static void emit(struct pawl_log_line *l)
{
	size_t off = 0;
	ssize_t n;

	pawl_log_line_end(l);
	while (off < l->len) {
		n = write(STDERR_FILENO, l->buf + off, l->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere to report a failing log */
		off += (size_t)n;
	}
}

/* A string field is cut past this (and ends "..."), so a JSON line stays whole. */
#define MSG_MAX_BYTES 1000
#define FIELD_MAX_BYTES 500

void pawl_log_request_id(const char *rid)
{
	size_t n = rid != NULL ? strlen(rid) : 0;

	if (n > PAWL_LOG_RID_MAX)
		n = PAWL_LOG_RID_MAX;
	memcpy(request_id, rid != NULL ? rid : "", n);
	request_id[n] = '\0';
}

/* "2026-12-07T03:15:00.123Z": UTC, to the millisecond. */
static void iso_time(char *out, size_t size, long long ns)
{
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	char when[32];

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03dZ", when, (int)(ns / 1000000 % 1000));
}

/*
 * The start of every line. JSON: {"Timestamp",...,"Fields":{ with "rid"
 * first when given (the caller writes the other fields and "}}"). Text:
 * "2026-12-07T03:15:00.123Z pawl[123] INFO type rid=<id>: ".
 */
static void head(struct pawl_log_line *l, enum pawl_log_level level, const char *type,
    const char *rid)
{
	long long ns = pawl_clock_wall_ns();
	char when[40];

	l->len = 0;
	if (as_json) {
		pawl_log_line_printf(l, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":", ns);
		pawl_log_line_json(l, type, 64);
		pawl_log_line_printf(l, ",\"Severity\":\"%s\",\"Pid\":%ld,\"Fields\":{",
		    level_names[level], (long)getpid());
		if (rid != NULL && *rid != '\0') {
			pawl_log_line_puts(l, "\"rid\":");
			pawl_log_line_json(l, rid, PAWL_LOG_RID_MAX);
			pawl_log_line_puts(l, ",");
		}
		return;
	}
	iso_time(when, sizeof(when), ns);
	pawl_log_line_printf(l, "%s pawl[%ld] %s ", when, (long)getpid(), level_names[level]);
	pawl_log_line_text(l, type, 64, false);
	if (rid != NULL && *rid != '\0') {
		pawl_log_line_puts(l, " rid=");
		pawl_log_line_text(l, rid, PAWL_LOG_RID_MAX, false);
	}
	pawl_log_line_puts(l, ": ");
}

/* The message (printf-style), trimmed of trailing newlines: libpq's end with one. */
static void format_msg(char *msg, size_t size, const char *fmt, va_list ap)
{
	size_t n;

	vsnprintf(msg, size, fmt, ap);
	for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '); n--)
		msg[n - 1] = '\0';
}

static void put_msg(struct pawl_log_line *l, const char *msg)
{
	if (as_json) {
		pawl_log_line_puts(l, "\"msg\":");
		pawl_log_line_json(l, msg, MSG_MAX_BYTES);
	} else {
		pawl_log_line_text(l, msg, MSG_MAX_BYTES, false);
	}
}

void pawl_log(enum pawl_log_level level, const char *type, const char *fmt, ...)
{
	char msg[1024];
	struct pawl_log_line l;
	unsigned long dropped;
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	format_msg(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!throttle_pass(level, type, msg, &dropped))
		return;
	if (dropped > 0 && strlen(msg) + 64 < sizeof(msg))
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    " (and %lu more like it in the last %lld s)", dropped,
		    (throttle_window_ms + 999) / 1000);
	head(&l, level, type, request_id);
	put_msg(&l, msg);
	if (as_json)
		pawl_log_line_puts(&l, "}}");
	emit(&l);
}

static void put_field(struct pawl_log_line *l, const struct pawl_log_field *f)
{
	if (f->kind == PAWL_LOG_STR && f->str == NULL && !as_json)
		return; /* text: a null is left out */
	pawl_log_line_puts(l, as_json ? ",\"" : " ");
	pawl_log_line_puts(l, f->key);
	pawl_log_line_puts(l, as_json ? "\":" : "=");
	if (f->kind == PAWL_LOG_INT)
		pawl_log_line_printf(l, "%lld", f->num);
	else if (as_json)
		pawl_log_line_json(l, f->str, FIELD_MAX_BYTES);
	else
		pawl_log_line_text(l, f->str, FIELD_MAX_BYTES, true);
}

void pawl_log_fields(enum pawl_log_level level, const char *type,
    const struct pawl_log_field *fields, size_t n, const char *fmt, ...)
{
	char msg[1024];
	struct pawl_log_line l;
	va_list ap;
	size_t i;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	format_msg(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	head(&l, level, type, request_id);
	put_msg(&l, msg);
	if (!as_json && n > 0)
		pawl_log_line_puts(&l, " |"); /* text: where the message ends and the fields begin */
	for (i = 0; i < n; i++)
		put_field(&l, &fields[i]);
	if (as_json)
		pawl_log_line_puts(&l, "}}");
	emit(&l);
}

/*
 * What each value of a summary may take, so that the whole record fits in
 * one line (PAWL_LOG_LINE_MAX) with room to spare: the sum is about 3 kB.
 */
#define SUM_METHOD_MAX 32
#define SUM_PATH_MAX 1000
#define SUM_QUERY_MAX 800
#define SUM_UID_MAX 256
#define SUM_AGENT_MAX 400
#define SUM_LANG_MAX 100

/* Kinto's authn_type: the policy that identified the user, the uid's prefix. */
static void put_authn_type(struct pawl_log_line *l, const char *uid)
{
	const char *colon = uid != NULL ? strchr(uid, ':') : NULL;
	char policy[32];
	size_t n = colon != NULL ? (size_t)(colon - uid) : 0;

	if (colon == NULL || n >= sizeof(policy)) {
		pawl_log_line_puts(l, "null");
		return;
	}
	memcpy(policy, uid, n);
	policy[n] = '\0';
	pawl_log_line_json(l, policy, sizeof(policy));
}

static void summary_json(struct pawl_log_line *l, const struct pawl_log_summary *s)
{
	char when[40];

	pawl_log_line_puts(l, "\"method\":");
	pawl_log_line_json(l, s->method, SUM_METHOD_MAX);
	pawl_log_line_puts(l, ",\"path\":");
	pawl_log_line_json(l, s->path, SUM_PATH_MAX);
	pawl_log_line_puts(l, ",\"querystring\":");
	pawl_log_line_query(l, s->query, SUM_QUERY_MAX);
	pawl_log_line_printf(l, ",\"code\":%d,\"errno\":", s->status);
	if (s->errno_ != 0)
		pawl_log_line_printf(l, "%d", s->errno_);
	else
		pawl_log_line_puts(l, "null");
	iso_time(when, sizeof(when), pawl_clock_wall_ns());
	pawl_log_line_printf(l, ",\"t\":%.3f,\"time\":\"%s\",\"uid\":", s->ms, when);
	pawl_log_line_json(l, s->user_id, SUM_UID_MAX);
	pawl_log_line_puts(l, ",\"authn_type\":");
	put_authn_type(l, s->user_id);
	pawl_log_line_puts(l, ",\"agent\":");
	pawl_log_line_json(l, s->agent, SUM_AGENT_MAX);
	pawl_log_line_puts(l, ",\"lang\":");
	pawl_log_line_json(l, s->lang, SUM_LANG_MAX);
	pawl_log_line_puts(l, "}}");
}

/* "GET /v1/x?a=1 -> 200 (1.234 ms) errno=111 uid=account:bob agent="curl/8" lang="fr"" */
static void summary_text(struct pawl_log_line *l, const struct pawl_log_summary *s)
{
	pawl_log_line_text(l, s->method, SUM_METHOD_MAX, false);
	pawl_log_line_puts(l, " ");
	pawl_log_line_text(l, s->path, SUM_PATH_MAX, false);
	if (s->query != NULL && *s->query != '\0') {
		pawl_log_line_puts(l, "?");
		pawl_log_line_text(l, s->query, SUM_QUERY_MAX, false);
	}
	pawl_log_line_printf(l, " -> %d (%.3f ms)", s->status, s->ms);
	if (s->errno_ != 0)
		pawl_log_line_printf(l, " errno=%d", s->errno_);
	if (s->user_id != NULL) {
		pawl_log_line_puts(l, " uid=");
		pawl_log_line_text(l, s->user_id, SUM_UID_MAX, true);
	}
	if (s->agent != NULL) {
		pawl_log_line_puts(l, " agent=");
		pawl_log_line_text(l, s->agent, SUM_AGENT_MAX, true);
	}
	if (s->lang != NULL) {
		pawl_log_line_puts(l, " lang=");
		pawl_log_line_text(l, s->lang, SUM_LANG_MAX, true);
	}
}

void pawl_log_request(const struct pawl_log_summary *s)
{
	struct pawl_log_line l;

	if (PAWL_LOG_INFO < min_level)
		return;
	head(&l, PAWL_LOG_INFO, "request.summary", s->rid);
	if (as_json)
		summary_json(&l, s);
	else
		summary_text(&l, s);
	emit(&l);
}

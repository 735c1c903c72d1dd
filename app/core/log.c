/*
 * Log lines on stderr: JSON objects (type, severity, pid, fields) for
 * production, or plain text. Must never print Authorization headers, passwords
 * or request bodies: callers pass only what is safe.
 */
#include <stdarg.h>
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

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
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
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (as_json) {
		fprintf(stderr, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":", now_ns());
		json_escape(stderr, type);
		fprintf(stderr, ",\"Severity\":\"%s\",\"Pid\":%ld,\"Fields\":{\"msg\":",
		    level_names[level], (long)getpid());
		json_escape(stderr, msg);
		fputs("}}\n", stderr);
	} else {
		fprintf(stderr, "pawl[%ld] %s %s: %s\n", (long)getpid(), level_names[level], type, msg);
	}
	fflush(stderr);
}

void pawl_log_request(const struct pawl_log_summary *s)
{
	if (PAWL_LOG_INFO < min_level)
		return;
	if (!as_json) {
		fprintf(stderr, "pawl[%ld] %s %s -> %d (%.2f ms)%s%s\n", (long)getpid(),
		    s->method ? s->method : "-", s->path ? s->path : "-", s->status, s->ms,
		    s->user_id ? " " : "", s->user_id ? s->user_id : "");
		fflush(stderr);
		return;
	}
	fprintf(stderr, "{\"Timestamp\":%lld,\"Logger\":\"pawl\",\"Type\":\"request.summary\","
	    "\"Severity\":\"INFO\",\"Pid\":%ld,\"Fields\":{\"method\":", now_ns(), (long)getpid());
	json_escape(stderr, s->method);
	fputs(",\"path\":", stderr);
	json_escape(stderr, s->path);
	fprintf(stderr, ",\"code\":%d,\"errno\":%d,\"t\":%.3f,\"uid\":", s->status, s->errno_, s->ms);
	if (s->user_id)
		json_escape(stderr, s->user_id);
	else
		fputs("null", stderr);
	fputs(",\"agent\":", stderr);
	json_escape(stderr, s->agent ? s->agent : "");
	fputs("}}\n", stderr);
	fflush(stderr);
}

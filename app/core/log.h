/*
 * Logging to stderr (the default: journald, docker) or a file, one line per
 * record: JSON (mozlog-like, the default) or text for humans, with identical
 * warnings and errors throttled. Never given credentials or request bodies.
 */
#ifndef PAWL_LOG_H
#define PAWL_LOG_H

#include <stddef.h>

enum pawl_log_level { PAWL_LOG_DEBUG, PAWL_LOG_INFO, PAWL_LOG_WARN, PAWL_LOG_ERROR };

/* pawl_log_setup from the settings' words: level "debug|info|warning|error", format "json|text". */
void pawl_log_configure(const char *level, const char *format);

/* Set once at startup (and on reload, in the supervisor); not thread-safe. */
void pawl_log_setup(enum pawl_log_level min_level, int json);

/*
 * Where lines go: the file at path (appended to, created 0640), or stderr
 * when path is NULL or empty. Keeps the current target and returns -1 (errno
 * set) when the file cannot be opened. Called at startup and on reload.
 */
int pawl_log_open(const char *path);

/*
 * SIGUSR1's job, as nginx's: reopen the log file (after logrotate moved it).
 * On stderr, which belongs to whoever started pawl (spawn-fcgi, systemd, a
 * shell redirect), it only records that the signal arrived.
 */
void pawl_log_reopen(void);

/* Tests: the throttling window in ms (0: off); clears what was counted. */
void pawl_log_throttle_window(long long ms);

void pawl_log(enum pawl_log_level level, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define pawl_log_info(...) pawl_log(PAWL_LOG_INFO, "app", __VA_ARGS__)
#define pawl_log_warn(...) pawl_log(PAWL_LOG_WARN, "app", __VA_ARGS__)
#define pawl_log_error(...) pawl_log(PAWL_LOG_ERROR, "app", __VA_ARGS__)

/*
 * The request being handled, by its id (see pawl_request_id): every line
 * written until it is cleared (NULL) carries it ("rid"), so a user's report
 * of an error finds all the lines of that request. Copied (at most
 * PAWL_LOG_RID_MAX bytes); the worker sets it per request.
 */
#define PAWL_LOG_RID_MAX 64
void pawl_log_request_id(const char *rid);

/* A named value of a structured line: a string (NULL is null) or an integer. */
enum pawl_log_kind { PAWL_LOG_STR, PAWL_LOG_INT };

struct pawl_log_field {
	const char *key; /* a literal, [a-z_]+ */
	enum pawl_log_kind kind;
	const char *str;
	long long num;
};

#define PAWL_LOG_S(k, v) ((struct pawl_log_field){ (k), PAWL_LOG_STR, (v), 0 })
#define PAWL_LOG_I(k, v) ((struct pawl_log_field){ (k), PAWL_LOG_INT, NULL, (long long)(v) })

/*
 * One structured record of a given type ("event.delivery_failed",
 * "worker.restart"): JSON puts the fields beside "msg" in Fields; text
 * writes "msg | key=value key=\"value\"..." (null fields left out). Never
 * throttled: each one is an occurrence to count. String values are escaped
 * and cut at 500 bytes.
 */
void pawl_log_fields(enum pawl_log_level level, const char *type,
    const struct pawl_log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* What request.summary says of a request (Kinto's fields). NULL: not known or not sent. */
struct pawl_log_summary {
	const char *rid;        /* the request id, also in X-Request-Id */
	const char *method;
	const char *path;       /* percent-encoded, without the query */
	const char *query;      /* the raw query string, or NULL */
	int status;
	int errno_;             /* 0: not an error (null) */
	double ms;
	const char *user_id;    /* prefixed ("account:bob"), or NULL for anonymous */
	const char *agent;      /* User-Agent */
	const char *lang;       /* Accept-Language */
};

/*
 * The one request.summary line per request. JSON Fields: method, path,
 * querystring (an object), code, errno, t (ms), time (ISO 8601 UTC), uid,
 * authn_type (the policy, from uid's prefix), agent, lang, rid.
 */
void pawl_log_request(const struct pawl_log_summary *s);

#endif

/*
 * Logging to stderr or a file, one line per record: JSON (mozlog-like, the
 * default) or text for humans, with identical warnings and errors throttled.
 * Never given credentials or request bodies.
 */
#ifndef PAWL_LOG_H
#define PAWL_LOG_H

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

struct pawl_log_summary {
	const char *method;
	const char *path;
	int status;
	int errno_;
	double ms;
	const char *user_id;
	const char *agent;
};

/* The one request.summary line per request. */
void pawl_log_request(const struct pawl_log_summary *s);

#endif

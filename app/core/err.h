/*
 * One status convention for the whole program. Fallible functions return an
 * enum pawl_err (PAWL_OK = 0) and fill a caller-owned struct pawl_error. The
 * mapping from a code to an HTTP status, a Kinto errno and a reason phrase is
 * made here and nowhere else.
 */
#ifndef PAWL_ERR_H
#define PAWL_ERR_H

#include <stddef.h>

enum pawl_err {
	PAWL_OK = 0,
	PAWL_ERR_INVALID,        /* 400, errno 107: validation of any input */
	PAWL_ERR_UNAUTHORIZED,   /* 401, errno 104 */
	PAWL_ERR_FORBIDDEN,      /* 403, errno 121 */
	PAWL_ERR_NOT_FOUND,      /* 404, errno 111: unknown URL, missing parent */
	PAWL_ERR_NO_OBJECT,      /* 404, errno 110: object not found */
	PAWL_ERR_VERSION,        /* 404, errno 116: another /vN */
	PAWL_ERR_METHOD,         /* 405, errno 115 */
	PAWL_ERR_NOT_ACCEPTABLE, /* 406, errno 107 */
	PAWL_ERR_CONFLICT,       /* 409, errno 122 */
	PAWL_ERR_GONE,           /* 410, errno 202 */
	PAWL_ERR_PRECONDITION,   /* 412, errno 114 */
	PAWL_ERR_TOO_LARGE,      /* 413, errno 113 */
	PAWL_ERR_MEDIA_TYPE,     /* 415, errno 107 */
	PAWL_ERR_INTERNAL,       /* 500, errno 999 */
	PAWL_ERR_BACKEND,        /* 503, errno 201: database or backend down */
	PAWL_ERR_NOMEM,          /* 500, errno 999 */
	PAWL_ERR_IO,             /* not an HTTP answer: socket/system failure */
	PAWL_ERR_CONFIG,         /* not an HTTP answer: startup configuration */
	PAWL_ERR_TIMEOUT,        /* 503, errno 201: a deadline passed */
	PAWL_ERR__COUNT
};

#define PAWL_ERROR_MESSAGE_MAX 512

/*
 * The error a failing call leaves behind. `location` and `name` describe a
 * validation error as Kinto does (location: body|querystring|header|path).
 * `details` is raw JSON text (static or arena-owned) sent as the error body's
 * "details"; when NULL and location is set, a Kinto validation list is built.
 */
struct pawl_error {
	enum pawl_err code;
	char message[PAWL_ERROR_MESSAGE_MAX];
	const char *location;
	char name[128];
	const char *details;
};

/* Resets to PAWL_OK with no message. */
void pawl_error_clear(struct pawl_error *err);

/* Sets code and a printf-style message; returns code for `return pawl_error_set(...)`. */
enum pawl_err pawl_error_set(struct pawl_error *err, enum pawl_err code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Sets PAWL_ERR_NOMEM with the one out-of-memory message and returns it, for
 * `return pawl_error_nomem(err);`. The message reaches logs only: a 500
 * body never carries it (see pawl_response_error).
 */
enum pawl_err pawl_error_nomem(struct pawl_error *err);

/*
 * Sets a validation error (PAWL_ERR_INVALID unless code says otherwise) about
 * `name` (may be NULL) in `location`; description is printf-style.
 */
enum pawl_err pawl_error_invalid(struct pawl_error *err, enum pawl_err code,
    const char *location, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* HTTP status, Kinto errno, and the body's "error" text for a code. */
int pawl_err_status(enum pawl_err code);
int pawl_err_errno(enum pawl_err code);
const char *pawl_err_title(enum pawl_err code);

/* The reason phrase of an HTTP status ("Not Found"); "Unknown" otherwise. */
const char *pawl_err_reason(int status);

/* A short stable name for logs ("invalid", "backend"...). */
const char *pawl_err_name(enum pawl_err code);

#endif

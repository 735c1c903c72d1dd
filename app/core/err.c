/*
 * The status convention: setting errors, and the single table that maps a
 * pawl_err to an HTTP status, a Kinto errno and the body's "error" title.
 * No other file may decide what status or errno a failure gets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

struct err_row {
	int status;
	int errno_;
	const char *name;
	const char *title; /* NULL: the reason phrase of the status */
};

static const struct err_row err_table[PAWL_ERR__COUNT] = {
	[PAWL_OK]                 = { 200,   0, "ok", NULL },
	[PAWL_ERR_INVALID]        = { 400, 107, "invalid", "Invalid parameters" },
	[PAWL_ERR_UNAUTHORIZED]   = { 401, 104, "unauthorized", NULL },
	[PAWL_ERR_FORBIDDEN]      = { 403, 121, "forbidden", NULL },
	[PAWL_ERR_NOT_FOUND]      = { 404, 111, "not_found", NULL },
	[PAWL_ERR_NO_OBJECT]      = { 404, 110, "no_object", NULL },
	[PAWL_ERR_VERSION]        = { 404, 116, "version", NULL },
	[PAWL_ERR_METHOD]         = { 405, 115, "method", NULL },
	[PAWL_ERR_NOT_ACCEPTABLE] = { 406, 107, "not_acceptable", "Invalid parameters" },
	[PAWL_ERR_CONFLICT]       = { 409, 122, "conflict", NULL },
	[PAWL_ERR_GONE]           = { 410, 202, "gone", NULL },
	[PAWL_ERR_PRECONDITION]   = { 412, 114, "precondition", NULL },
	[PAWL_ERR_TOO_LARGE]      = { 413, 113, "too_large", NULL },
	[PAWL_ERR_MEDIA_TYPE]     = { 415, 107, "media_type", "Invalid parameters" },
	[PAWL_ERR_INTERNAL]       = { 500, 999, "internal", NULL },
	[PAWL_ERR_BACKEND]        = { 503, 201, "backend", NULL },
	[PAWL_ERR_NOMEM]          = { 500, 999, "nomem", NULL },
	[PAWL_ERR_IO]             = { 500, 999, "io", NULL },
	[PAWL_ERR_CONFIG]         = { 500, 999, "config", NULL },
	[PAWL_ERR_TIMEOUT]        = { 503, 201, "timeout", NULL },
};

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
	{ 301, "Moved Permanently" }, { 302, "Found" }, { 304, "Not Modified" },
	{ 307, "Temporary Redirect" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" }, { 409, "Conflict" }, { 410, "Gone" },
	{ 411, "Length Required" }, { 412, "Precondition Failed" },
	{ 413, "Request Entity Too Large" }, { 415, "Unsupported Media Type" },
	{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};

static const struct err_row *row(enum pawl_err code)
{
	if ((int)code < 0 || code >= PAWL_ERR__COUNT)
		code = PAWL_ERR_INTERNAL;
	return &err_table[code];
}

void pawl_error_clear(struct pawl_error *err)
{
	err->code = PAWL_OK;
	err->message[0] = '\0';
	err->location = NULL;
	err->name[0] = '\0';
	err->details = NULL;
}

enum pawl_err pawl_error_set(struct pawl_error *err, enum pawl_err code, const char *fmt, ...)
{
	va_list ap;

	pawl_error_clear(err);
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

enum pawl_err pawl_error_nomem(struct pawl_error *err)
{
	return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
}

enum pawl_err pawl_error_invalid(struct pawl_error *err, enum pawl_err code,
    const char *location, const char *name, const char *fmt, ...)
{
	va_list ap;

	pawl_error_clear(err);
	err->code = code == PAWL_OK ? PAWL_ERR_INVALID : code;
	err->location = location;
	if (name != NULL)
		snprintf(err->name, sizeof(err->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return err->code;
}

int pawl_err_status(enum pawl_err code)
{
	return row(code)->status;
}

int pawl_err_errno(enum pawl_err code)
{
	return row(code)->errno_;
}

const char *pawl_err_title(enum pawl_err code)
{
	const struct err_row *r = row(code);

	return r->title != NULL ? r->title : pawl_err_reason(r->status);
}

const char *pawl_err_name(enum pawl_err code)
{
	return row(code)->name;
}

const char *pawl_err_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

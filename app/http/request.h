/*
 * A request as the pipeline sees it: the FastCGI parameters (CGI names),
 * the capped body, and what the stages learn about it (route, user). Built
 * from a params array so unit tests build requests in memory.
 */
#ifndef PAWL_REQUEST_H
#define PAWL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "core/route.h"

struct pawl_request {
	struct pawl_arena *arena;
	char *const *params;      /* "NAME=VALUE", NULL-terminated (FastCGI envp) */
	const char *method;       /* REQUEST_METHOD */
	unsigned method_bit;      /* PAWL_METHOD_*, 0 when unknown */
	const char *raw_path;     /* REQUEST_URI up to '?', percent-encoded */
	const char *query;        /* after '?', or NULL */
	const char *body;         /* NULL when no body was sent */
	size_t body_len;
	json_object *json;        /* the parsed body, when there was one */
	struct pawl_match match;  /* filled by the router */
	const char *user_id;      /* prefixed user id, NULL when anonymous */
};

/*
 * Initialises req from params: method and URI. Fails with PAWL_ERR_INVALID
 * when REQUEST_URI is missing or holds control characters.
 */
enum pawl_err pawl_request_init(struct pawl_request *req, struct pawl_arena *arena,
    char *const *params, struct pawl_error *err);

/*
 * Whether s may be a request id: 1 to PAWL_REQUEST_ID_MAX characters of
 * [A-Za-z0-9._-], nothing that could split a header or a log line.
 */
#define PAWL_REQUEST_ID_MAX 64
bool pawl_request_id_valid(const char *s);

/*
 * The request's id, in the arena (NULL only when memory ran out): the
 * FastCGI parameter PAWL_REQUEST_ID (nginx's $request_id, set by the shipped
 * nginx/fastcgi_params) when pawl_request_id_valid, else 128 random bits in
 * hex (spawn-fcgi without the snippet, cgi-fcgi, a hand-written config).
 * Never the client's X-Request-Id header.
 */
const char *pawl_request_id(struct pawl_arena *arena, char *const *params);

/* A CGI parameter ("CONTENT_TYPE"), or NULL. */
const char *pawl_request_param(const struct pawl_request *req, const char *name);

/* An HTTP request header by its HTTP name ("If-Match"), or NULL. */
const char *pawl_request_header(const struct pawl_request *req, const char *name);

/* 406 (PAWL_ERR_NOT_ACCEPTABLE) unless Accept allows application/json. */
enum pawl_err pawl_request_check_accept(const struct pawl_request *req, struct pawl_error *err);

/*
 * 415 (PAWL_ERR_MEDIA_TYPE) unless Content-Type is one of the NULL-terminated
 * media types (parameters such as charset are ignored).
 */
enum pawl_err pawl_request_check_content_type(const struct pawl_request *req,
    const char *const *allowed, struct pawl_error *err);

/*
 * The absolute URL of path under the API prefix ("http://host/v1" + path),
 * honouring http_scheme and http_host, then X-Forwarded-Proto/Host, then the
 * CGI variables. In the arena.
 */
const char *pawl_request_url(const struct pawl_request *req, const struct pawl_config *cfg,
    const char *path);

#endif

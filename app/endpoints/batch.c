/*
 * POST /v1/batch: every sub-request is a real request (FastCGI params built
 * from the batch's own and the sub-request's headers) run through the same
 * pipeline inside the batch's one transaction, a savepoint each. A
 * sub-request never writes into the batch's response; its memory is the
 * batch's arena; its failed work and events are rolled back with it.
 */
#include <stdio.h>
#include <string.h>

#include "endpoints/batch.h"
#include "http/router.h"
#include "core/json.h"
#include "core/log.h"
#include "store/objects.h"
#include "txn/txn.h"
#include "http/pipeline.h"
#include "resource/resource.h"
#include "core/str.h"

#define SUB_CONTENT_TYPE "application/json; charset=utf-8"
#define HEADER_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"

/* --- building a sub-request ------------------------------------------------- */

struct plist {
	struct pawl_arena *arena;
	char **v;  /* NULL-terminated */
	size_t n, cap;
	bool nomem;
};

static void plist_push(struct plist *l, char *entry)
{
	if (entry == NULL) {
		l->nomem = true;
		return;
	}
	if (l->n + 1 >= l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char **fresh = pawl_arena_calloc(l->arena, ncap, sizeof(*fresh));

		if (fresh == NULL) {
			l->nomem = true;
			return;
		}
		if (l->n)
			memcpy(fresh, l->v, l->n * sizeof(*fresh));
		l->v = fresh;
		l->cap = ncap;
	}
	l->v[l->n++] = entry;
	l->v[l->n] = NULL;
}

static size_t plist_find(const struct plist *l, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i], name, n) == 0 && l->v[i][n] == '=')
			return i;
	return l->n;
}

/* Sets NAME=value, replacing an earlier NAME (the last one set wins). */
static void plist_set(struct plist *l, const char *name, const char *value)
{
	char *entry = pawl_arena_printf(l->arena, "%s=%s", name, value);
	size_t i = plist_find(l, name);

	if (entry != NULL && i < l->n)
		l->v[i] = entry;
	else
		plist_push(l, entry);
}

static void plist_del(struct plist *l, const char *name)
{
	size_t i = plist_find(l, name);

	if (i == l->n)
		return;
	memmove(l->v + i, l->v + i + 1, (l->n - i) * sizeof(*l->v));
	l->n--;
}

/* The CGI name of a header ("If-Match" → "HTTP_IF_MATCH"), NULL when nginx would drop it. */
static const char *cgi_name(struct pawl_arena *arena, const char *name)
{
	size_t i, n = strlen(name);
	char *out;

	if (n == 0 || n > 100 || strspn(name, HEADER_CHARS) != n)
		return NULL;
	if (pawl_str_ieq(name, "Content-Type"))
		return "CONTENT_TYPE";
	if ((out = pawl_arena_alloc(arena, n + 6)) == NULL)
		return NULL;
	memcpy(out, "HTTP_", 5);
	for (i = 0; i < n; i++)
		out[5 + i] = name[i] == '-' ? '_' :
		    (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 'a' + 'A') : name[i];
	out[5 + n] = '\0';
	return out;
}

char **pawl_batch_params(struct pawl_arena *arena, char *const *parent,
    const struct pawl_batch_request *sub, const char *uri, bool with_body)
{
	struct plist l = { .arena = arena };
	char *const *p;
	const char *q = strchr(uri, '?');

	for (p = parent; p != NULL && *p != NULL; p++)
		plist_push(&l, *p);
	/* The body differs from the batch's: its length must not be believed. */
	plist_del(&l, "CONTENT_LENGTH");
	if (sub->headers != NULL) {
		json_object_object_foreach(sub->headers, name, value) {
			const char *cgi = cgi_name(arena, name);

			if (cgi != NULL && !pawl_str_ieq(name, "Content-Length"))
				plist_set(&l, cgi, json_object_get_string(value));
		}
	}
	plist_set(&l, "REQUEST_METHOD", sub->method);
	plist_set(&l, "REQUEST_URI", uri);
	plist_set(&l, "DOCUMENT_URI", q ? pawl_arena_strndup(arena, uri, (size_t)(q - uri)) : uri);
	plist_set(&l, "QUERY_STRING", q ? q + 1 : "");
	if (with_body)
		plist_set(&l, "CONTENT_TYPE", SUB_CONTENT_TYPE);
	if (l.n == 0)
		plist_push(&l, pawl_arena_strdup(arena, "REQUEST_METHOD=GET"));
	return l.nomem ? NULL : l.v;
}

const char *pawl_batch_uri(struct pawl_arena *arena, const char *path, size_t len)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t prefix = strlen(PAWL_API_PREFIX), i;
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	if (len < prefix || memcmp(path, PAWL_API_PREFIX, prefix) != 0)
		pawl_buf_puts(&b, PAWL_API_PREFIX);
	for (i = 0; i < len; i++) {
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			pawl_buf_printf(&b, "%%%02X", p[i]);
		else
			pawl_buf_putc(&b, (char)p[i]);
	}
	return b.failed || b.data == NULL ? NULL : b.data;
}

/* --- running sub-requests --------------------------------------------------- */

struct sub {
	struct pawl_request req;
	struct pawl_response resp;
	const char *uri;  /* the last REQUEST_URI run (after a redirect) */
};

/* A header value with a NUL cannot travel in a CGI param: 400, never truncated. */
static enum pawl_err check_header_values(const struct pawl_batch_request *spec,
    struct pawl_error *err)
{
	if (spec->headers == NULL)
		return PAWL_OK;
	json_object_object_foreach(spec->headers, name, value) {
		if (strlen(json_object_get_string(value)) != (size_t)json_object_get_string_len(value))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "header", name,
			    "Invalid header value.");
	}
	return PAWL_OK;
}

/* Where sub-requests run: the batch's request and its unit of work, shared by all. */
struct batch_ctx {
	struct pawl_app *app;
	struct pawl_request *req;
	struct pawl_txn *txn;
	const char *request_id; /* the batch's, for its sub-responses */
};

static void run_sub(const struct batch_ctx *b, const struct pawl_batch_request *spec,
    const char *uri, const char *body, size_t body_len, struct sub *s)
{
	struct pawl_app *app = b->app;
	struct pawl_request *parent = b->req;
	struct pawl_arena *arena = parent->arena;
	char **params = uri ? pawl_batch_params(arena, parent->params, spec, uri, body != NULL) : NULL;
	struct pawl_error err;

	pawl_error_clear(&err);
	pawl_response_init(&s->resp, arena);
	s->resp.request_id = b->request_id;
	memset(&s->req, 0, sizeof(s->req));
	s->req.arena = arena;
	s->req.params = parent->params;
	s->req.method = spec->method;
	s->uri = uri;
	if (params == NULL) {
		pawl_error_nomem(&err);
	} else if (pawl_request_init(&s->req, arena, params, &err) == PAWL_OK &&
	    check_header_values(spec, &err) == PAWL_OK) {
		s->req.body = body;
		s->req.body_len = body_len;
		pawl_pipeline_handle(app, &s->req, &s->resp, b->txn);
		return;
	}
	pawl_pipeline_error(app, &s->req, &s->resp, &err);
}

/* Runs spec, following one redirect (a trailing slash, a missing /v1) as Kinto does. */
static void run_spec(const struct batch_ctx *b, const struct pawl_batch_request *spec,
    struct sub *s)
{
	struct pawl_request *parent = b->req;
	const char *body = NULL, *location;
	size_t body_len = 0;

	/* No URI: run_sub answers 500 (out of memory) for the sub-request. */
	if (spec->body != NULL && (body = pawl_json_compact(parent->arena, spec->body,
	    &body_len)) == NULL) {
		run_sub(b, spec, NULL, NULL, 0, s);
		return;
	}
	run_sub(b, spec, pawl_batch_uri(parent->arena, spec->path, spec->path_len), body,
	    body_len, s);
	location = s->resp.status >= 300 && s->resp.status < 400 ?
	    pawl_response_get_header(&s->resp, "Location") : NULL;
	if (location != NULL && location[0] == '/')
		run_sub(b, spec, location, body, body_len, s);
}

/*
 * One sub-request under its savepoint. A 4xx is rolled back to the
 * savepoint with its staged events; a 409 also dooms the transaction. A
 * 5xx is left for the caller (the whole batch fails). Errors here are the
 * savepoint commands' own.
 */
static enum pawl_err run_one(const struct batch_ctx *b, const struct pawl_batch_request *spec,
    struct sub *s, bool *doomed, struct pawl_error *err)
{
	enum pawl_err rc;

	if ((rc = pawl_txn_savepoint(b->txn, err)) != PAWL_OK)
		return rc;
	run_spec(b, spec, s);
	if (s->resp.status >= 500)
		return PAWL_OK;
	if (s->resp.status < 400)
		return pawl_txn_release(b->txn, err);
	if (s->resp.status == 409)
		*doomed = true;
	return pawl_txn_rollback_to(b->txn, err);
}

/* {"path", "status", "headers", "body"} of one sub-response, Kinto's build_response. */
static void put_response(struct pawl_buf *b, struct pawl_arena *arena, const struct sub *s)
{
	const char *raw = s->req.raw_path ? s->req.raw_path : s->uri ? s->uri : "";
	size_t raw_len = s->req.raw_path ? strlen(raw) : strcspn(raw, "?"), dec_len = 0, i;
	const char *dec = pawl_str_urldecode(arena, raw, raw_len, false, &dec_len);
	const struct pawl_response *r = &s->resp;
	const char *type = pawl_response_get_header(r, "Content-Type");

	pawl_buf_puts(b, "{\"path\":");
	pawl_buf_json_string(b, dec ? dec : raw, dec ? dec_len : raw_len);
	pawl_buf_printf(b, ",\"status\":%d,\"headers\":{", r->status);
	for (i = 0; i < r->n_headers; i++) {
		pawl_buf_puts(b, i ? "," : "");
		pawl_buf_json_string(b, r->headers[i].name, strlen(r->headers[i].name));
		pawl_buf_putc(b, ':');
		pawl_buf_json_string(b, r->headers[i].value, strlen(r->headers[i].value));
	}
	pawl_buf_puts(b, "},\"body\":");
	if (s->req.method_bit == PAWL_METHOD_HEAD || r->omit_body || r->body.len == 0)
		pawl_buf_puts(b, "\"\"");
	else if (type != NULL && strncmp(type, "application/json", 16) != 0)
		/* A text body (__metrics__) goes as a string, as Kinto's build_response does. */
		pawl_buf_json_string(b, r->body.data, r->body.len);
	else
		pawl_buf_append(b, r->body.data, r->body.len);
	pawl_buf_putc(b, '}');
}

/* The batch answers a failed sub-request's error itself (an error document always). */
static void answer_failure(struct pawl_response *resp, const struct sub *s)
{
	struct pawl_error e;

	if (s->resp.errno_ != 0 && s->resp.body.len > 0) {
		resp->status = s->resp.status;
		resp->errno_ = s->resp.errno_;
		resp->body.len = 0;
		pawl_buf_append(&resp->body, s->resp.body.data, s->resp.body.len);
		return;
	}
	pawl_error_set(&e, s->resp.status == 503 ? PAWL_ERR_BACKEND : PAWL_ERR_INTERNAL,
	    "a batch sub-request failed");
	pawl_response_error(resp, &e);
}

/*
 * Runs every sub-request into out. *failed is the sub-request that ends the
 * batch, if any: a 5xx, or a 409 that doomed the transaction (*doomed).
 */
static enum pawl_err run_all(const struct batch_ctx *b, const struct pawl_batch *batch,
    struct pawl_buf *out, struct sub *failed, bool *doomed, struct pawl_error *err)
{
	struct sub s;
	size_t i;
	enum pawl_err rc;

	for (i = 0; i < batch->n; i++) {
		if ((rc = run_one(b, &batch->requests[i], &s, doomed, err)) != PAWL_OK)
			return rc;
		if (s.resp.status >= 500 || *doomed) {
			*failed = s;
			return PAWL_OK;
		}
		pawl_buf_puts(out, i ? "," : "");
		put_response(out, b->req->arena, &s);
	}
	return out->failed ? pawl_error_nomem(err) : PAWL_OK;
}

/*
 * The lists the batch's writes will lock, locked first, in one canonical
 * order: two batches writing the same lists in opposite orders would each
 * hold what the other waits for, a deadlock PostgreSQL breaks only after
 * deadlock_timeout (a second), rolling one back. What cannot be known before
 * a sub-request runs (the personal bucket, per-user resources) is locked by
 * the sub-request itself, as outside a batch; locking again is free.
 */
static enum pawl_err lock_up_front(struct pawl_app *app, struct pawl_request *req,
    const struct pawl_batch *batch, struct pawl_error *err)
{
	struct pawl_list_key *keys = pawl_arena_calloc(req->arena, batch->n, sizeof(*keys));
	const unsigned reads = PAWL_METHOD_GET | PAWL_METHOD_HEAD | PAWL_METHOD_OPTIONS;
	struct pawl_error ignored;
	struct pawl_match m;
	size_t i, n = 0;

	if (keys == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < batch->n; i++) {
		const struct pawl_batch_request *spec = &batch->requests[i];
		unsigned method = pawl_method_parse(spec->method);
		const char *uri = pawl_batch_uri(req->arena, spec->path, spec->path_len), *q;

		if ((method & reads) != 0 || uri == NULL)
			continue;
		q = strchr(uri, '?');
		if (pawl_router_match(app->router, req->arena, &(struct pawl_request_line){ method,
		    q ? pawl_arena_strndup(req->arena, uri, (size_t)(q - uri)) : uri,
		    q ? q + 1 : "" }, &m, &ignored) == PAWL_OK &&
		    pawl_resource_list_key_of(req->arena, &m, &keys[n]))
			n++;
	}
	return n > 0 ? pawl_objects_lock_lists(app->pg, req->arena, keys, n, err) : PAWL_OK;
}

/*
 * One attempt at the whole batch in one transaction. *failed is set when it
 * ended without a commit: a 5xx, or a 409 after which PostgreSQL had rolled
 * the transaction back (a deadlock, a serialization failure: *doomed). Either
 * way nothing is committed and nothing is published.
 */
static enum pawl_err attempt(const struct batch_ctx *b, const struct pawl_batch *batch,
    struct pawl_buf *out, struct sub *failed, bool *doomed, struct pawl_error *err)
{
	enum pawl_err rc;

	*doomed = false;
	failed->resp.status = 0;
	if ((rc = pawl_txn_begin(b->txn, err)) != PAWL_OK)
		return rc;
	if ((rc = lock_up_front(b->app, b->req, batch, err)) != PAWL_OK) {
		pawl_txn_abort(b->txn);
		return rc;
	}
	pawl_buf_init(out, b->req->arena);
	pawl_buf_puts(out, "{\"responses\":[");
	rc = run_all(b, batch, out, failed, doomed, err);
	if (rc != PAWL_OK || failed->resp.status != 0)
		pawl_txn_abort(b->txn);
	return rc;
}

enum pawl_err pawl_batch_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	const struct batch_ctx b = { app, req, txn, resp->request_id };
	struct pawl_batch batch;
	struct pawl_buf out;
	struct sub failed;
	bool doomed = false;
	int tries;
	enum pawl_err rc;

	/* By route, after decoding: however the path was spelled, a batch never nests. */
	if (pawl_txn_active(txn))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "requests",
		    "Recursive call on /batch endpoint is forbidden.");
	rc = pawl_batch_schema_parse(req->arena, req->json, req->body != NULL,
	    app->cfg->batch_max_requests, &batch, err);
	if (rc != PAWL_OK)
		return rc;
	if (batch.n == 0) {
		pawl_response_raw(resp, 200, "{\"responses\":[]}");
		return PAWL_OK;
	}
	/*
	 * A transaction PostgreSQL rolled back to break a deadlock or a
	 * serialization conflict is run again from the start, a few times: it
	 * committed nothing, so nothing is repeated twice.
	 */
	for (tries = 1;; tries++) {
		if ((rc = attempt(&b, &batch, &out, &failed, &doomed, err)) != PAWL_OK)
			return rc;
		if (!doomed || tries == PAWL_BATCH_ATTEMPTS)
			break;
		pawl_log_info("batch rolled back by the database (attempt %d of %d): running it again",
		    tries, PAWL_BATCH_ATTEMPTS);
	}
	if (failed.resp.status != 0) {
		answer_failure(resp, &failed);
		return PAWL_OK;
	}
	/* COMMIT with the outbox rows; the events wait for the response. */
	if ((rc = pawl_txn_commit(txn, err)) != PAWL_OK)
		return rc;
	pawl_buf_puts(&out, "]}");
	resp->status = 200;
	resp->body = out;
	return PAWL_OK;
}

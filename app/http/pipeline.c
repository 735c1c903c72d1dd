/*
 * The request's path through the stages, in order: route, negotiate,
 * parse the body, identify, dispatch, finish the headers. Every failure is
 * turned into a JSON error response here; a handler never writes one itself.
 */
#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "core/json.h"
#include "core/log.h"
#include "http/pipeline.h"
#include "http/router.h"
#include "http/policy.h"
#include "core/str.h"

static const char *const json_types[] = { "application/json", NULL };
static const char *const patch_types[] = { "application/json",
	"application/merge-patch+json", "application/json-patch+json", NULL };

static void common_headers(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp)
{
	/* JSON unless the handler said otherwise (__metrics__ answers text). */
	if (resp->body.len > 0 && pawl_response_get_header(resp, "Content-Type") == NULL)
		pawl_response_header(resp, "Content-Type", "application/json");
	pawl_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* What a user quotes in a report: it finds the request.summary line and the others. */
	if (resp->request_id != NULL)
		pawl_response_header(resp, "X-Request-Id", resp->request_id);
	pawl_response_header(resp, "Content-Security-Policy",
	    "default-src 'none'; frame-ancestors 'none'; base-uri 'none';");
	/* Kinto asks for a retry after a 503 and after an integrity conflict (errno 122). */
	if (resp->status == 503 || (resp->status == 409 && resp->errno_ == 122))
		pawl_response_header(resp, "Retry-After",
		    pawl_arena_printf(req->arena, "%d", app->cfg->retry_after_seconds));
	pawl_policy_headers(app, req, resp);
	if (req->method_bit == PAWL_METHOD_HEAD)
		resp->omit_body = true;
}

/* The error body and the headers that go with it, without the common ones. */
static void error_answer(struct pawl_request *req, struct pawl_response *resp,
    const struct pawl_error *err)
{
	pawl_response_error(resp, err);
	/* The cause is logged with the id by pawl_response_error; this says where. */
	if (resp->error_id != NULL)
		pawl_log_error("error_id=%s in %s %s", resp->error_id, req->method ? req->method : "-",
		    req->raw_path ? req->raw_path : "-");
	if (err->code == PAWL_ERR_METHOD && req->match.allow != NULL)
		pawl_response_header(resp, "Allow", req->match.allow);
	/* The challenge of the policies in use, as Kinto sends them with a 401. */
	if (err->code == PAWL_ERR_UNAUTHORIZED)
		pawl_response_header(resp, "WWW-Authenticate", "Basic realm=\"Realm\"");
}

/*
 * The one place every response is finished: the common headers, then, if
 * building it failed anywhere (a refused header, memory), the failed answer
 * is dropped whole and replaced by the JSON error of its failure. Should
 * that fail too, pawl_fcgi_send answers a fixed 500.
 */
static void finish(struct pawl_app *app, struct pawl_request *req, struct pawl_response *resp)
{
	struct pawl_error err;

	common_headers(app, req, resp);
	if (pawl_response_failure(resp) == PAWL_OK)
		return;
	pawl_response_discard(resp, &err);
	error_answer(req, resp, &err);
	common_headers(app, req, resp);
}

void pawl_pipeline_error(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, const struct pawl_error *err)
{
	error_answer(req, resp, err);
	finish(app, req, resp);
}

/* Parses a body sent with POST, PUT or PATCH (other methods ignore theirs). */
static enum pawl_err parse_body(struct pawl_app *app, struct pawl_request *req,
    struct pawl_error *err)
{
	const unsigned with_body = PAWL_METHOD_POST | PAWL_METHOD_PUT | PAWL_METHOD_PATCH;
	enum pawl_err rc;

	if (req->body == NULL || !(req->method_bit & with_body))
		return PAWL_OK;
	rc = pawl_request_check_content_type(req,
	    req->method_bit == PAWL_METHOD_PATCH ? patch_types : json_types, err);
	if (rc != PAWL_OK)
		return rc;
	return pawl_json_parse(req->arena, req->body, req->body_len, app->cfg->max_json_depth,
	    &req->json, err);
}

static void identify(struct pawl_app *app, struct pawl_request *req)
{
	char **p;

	for (p = app->cfg->auth_policies; p != NULL && *p != NULL; p++) {
		if (strcmp(*p, "account") == 0) {
			/* Tried in multiauth.policies order; a failure falls to the next (Kinto). */
			if (app->dispatch->account != NULL)
				req->user_id = app->dispatch->account(app, req->arena,
				    pawl_request_header(req, "Authorization"));
		} else if (strcmp(*p, "basicauth") == 0) {
			req->user_id = pawl_auth_basic_userid(req->arena, app->auth_key,
			    pawl_request_header(req, "Authorization"));
		} else if (strcmp(*p, "remote_user") == 0) {
			/* Trusted only because nginx authenticated the user (auth_basic, auth_request). */
			const char *who = pawl_request_param(req, "REMOTE_USER");

			if (who != NULL && *who != '\0' && !pawl_str_has_ctl(who))
				req->user_id = pawl_arena_printf(req->arena, "remote_user:%s", who);
		}
		if (req->user_id != NULL)
			return;
	}
}

static enum pawl_err redirect(struct pawl_request *req, struct pawl_response *resp)
{
	/* A location no header can carry is a path nothing serves, not a failed response. */
	if (pawl_str_has_ctl(req->match.location))
		return PAWL_ERR_NOT_FOUND;
	resp->status = 307;
	pawl_response_header(resp, "Location", req->match.location);
	if (req->match.cache_ttl >= 0)
		pawl_response_header(resp, "Cache-Control",
		    pawl_arena_printf(req->arena, "max-age=%d", req->match.cache_ttl));
	return PAWL_OK;
}

void pawl_pipeline_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn)
{
	struct pawl_error err;
	pawl_handler_fn *fn;
	enum pawl_err rc;
	bool done = false;

	pawl_error_clear(&err);
	identify(app, req);
	rc = pawl_router_match(app->router, req->arena, &(struct pawl_request_line){
	    req->method_bit, req->raw_path, req->query }, &req->match, &err);
	if (rc == PAWL_OK && req->match.location != NULL) {
		if (redirect(req, resp) != PAWL_OK)
			pawl_error_set(&err, PAWL_ERR_NOT_FOUND,
			    "The resource you are looking for could not be found.");
		else
			goto done;
		goto fail;
	}
	if ((rc = pawl_policy_check(app, req, resp, rc, &done, &err)) != PAWL_OK)
		goto fail;
	if (done)
		goto done;
	if ((rc = pawl_request_check_accept(req, &err)) != PAWL_OK ||
	    (rc = parse_body(app, req, &err)) != PAWL_OK)
		goto fail;
	fn = app->dispatch->by_kind[req->match.route->kind];
	if (fn == NULL) {
		pawl_error_set(&err, PAWL_ERR_NOT_FOUND,
		    "The resource you are looking for could not be found.");
		goto fail;
	}
	if (fn(app, req, resp, txn, &err) != PAWL_OK)
		goto fail;
done:
	finish(app, req, resp);
	return;
fail:
	pawl_pipeline_error(app, req, resp, &err);
}

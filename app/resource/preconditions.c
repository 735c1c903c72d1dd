/*
 * Conditional requests as Kinto (API >= 1.15) does them: If-Match and
 * If-None-Match hold "<ms>" or *, compared by strict equality. Also the
 * write's lock and its wrapper over the request's unit of work (txn/).
 * Ignores If-Modified-Since/If-Unmodified-Since, as Kinto does.
 */
#include <stdlib.h>
#include <string.h>

#include "resource/resource.h"
#include "store/store.h"
#include "txn/txn.h"
#include "core/str.h"

enum cond { COND_NONE, COND_ANY, COND_TS };

static enum pawl_err parse_cond(const struct pawl_request *req, const char *header,
    enum cond *kind, long long *ts, struct pawl_error *err)
{
	const char *v = pawl_request_header(req, header);
	size_t n;
	char digits[24];

	*kind = COND_NONE;
	if (v == NULL)
		return PAWL_OK;
	if (strcmp(v, "*") == 0) {
		*kind = COND_ANY;
		return PAWL_OK;
	}
	n = strlen(v);
	if (n < 3 || n - 2 >= sizeof(digits) || v[0] != '"' || v[n - 1] != '"')
		goto bad;
	memcpy(digits, v + 1, n - 2);
	digits[n - 2] = '\0';
	if (strspn(digits, "0123456789") != n - 2 || !pawl_str_to_ll(digits, 0, PAWL_STR_INT_MAX, ts))
		goto bad;
	*kind = COND_TS;
	return PAWL_OK;
bad:
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "header", header,
	    "The value should be integer between double quotes.");
}

static enum pawl_err failed(struct pawl_rctx *c, const struct pawl_object *current,
    struct pawl_error *err)
{
	pawl_error_set(err, PAWL_ERR_PRECONDITION, "Resource was modified meanwhile");
	if (current != NULL) {
		err->details = pawl_arena_printf(c->req->arena, "{\"existing\":%s}", current->data);
		pawl_resource_timestamp_headers(c->resp, current->last_modified);
	}
	return PAWL_ERR_PRECONDITION;
}

enum pawl_err pawl_resource_preconditions(struct pawl_rctx *c, const struct pawl_object *current,
    bool *not_modified, struct pawl_error *err)
{
	enum cond match, none;
	long long match_ts = 0, none_ts = 0;
	enum pawl_err rc;

	*not_modified = false;
	if ((rc = parse_cond(c->req, "If-Match", &match, &match_ts, err)) != PAWL_OK ||
	    (rc = parse_cond(c->req, "If-None-Match", &none, &none_ts, err)) != PAWL_OK)
		return rc;
	if (match == COND_ANY && current == NULL)
		return failed(c, current, err);
	if (match == COND_TS && (current == NULL || current->last_modified != match_ts))
		return failed(c, current, err);
	if (none == COND_ANY && current != NULL)
		return failed(c, current, err);
	if (none == COND_TS && current != NULL && current->last_modified == none_ts) {
		if (c->req->method_bit & (PAWL_METHOD_GET | PAWL_METHOD_HEAD)) {
			*not_modified = true;
			return PAWL_OK;
		}
		return failed(c, current, err);
	}
	return PAWL_OK;
}

enum pawl_err pawl_resource_list_preconditions(struct pawl_rctx *c, long long list_ts,
    bool *not_modified, struct pawl_error *err)
{
	enum cond match, none;
	long long match_ts = 0, none_ts = 0;
	enum pawl_err rc;

	*not_modified = false;
	if ((rc = parse_cond(c->req, "If-Match", &match, &match_ts, err)) != PAWL_OK ||
	    (rc = parse_cond(c->req, "If-None-Match", &none, &none_ts, err)) != PAWL_OK)
		return rc;
	/* A list always exists: If-None-Match: * always fails, as in Kinto. */
	if ((match == COND_TS && match_ts != list_ts) || none == COND_ANY)
		goto fail;
	if (none == COND_TS && none_ts == list_ts) {
		if (c->req->method_bit & (PAWL_METHOD_GET | PAWL_METHOD_HEAD)) {
			*not_modified = true;
			return PAWL_OK;
		}
		goto fail;
	}
	return PAWL_OK;
fail:
	pawl_resource_timestamp_headers(c->resp, list_ts);
	return pawl_error_set(err, PAWL_ERR_PRECONDITION, "Resource was modified meanwhile");
}

/*
 * The lock a write takes first: none for a creation under a fresh id, the
 * object's for an item route, the whole list's otherwise (plural DELETE, POST
 * naming an id). Inside a batch always the whole list's: a batch holds what
 * one sub-request locked while the next takes more, so every writer must take
 * the list's lock before its timestamp row, in one order, or two batches
 * could each wait for the other. A batch's implicit creation of the personal
 * bucket or collection (event_md set) takes none, as it never has.
 */
static enum pawl_err lock_for_write(struct pawl_rctx *c, struct pawl_error *err)
{
	if (pawl_txn_nested(c->txn))
		return c->event_md != NULL ? PAWL_OK :
		    pawl_store_lock_list(c->app->store, c->req->arena, &c->key, err);
	if (c->fresh_id)
		return PAWL_OK;
	if (c->id != NULL)
		return pawl_store_lock_object(c->app->store, c->req->arena, &c->key, c->id, err);
	return pawl_store_lock_list(c->app->store, c->req->arena, &c->key, err);
}

struct write {
	struct pawl_rctx *c;
	pawl_resource_write_fn *fn;
};

static enum pawl_err locked_write(void *ctx, struct pawl_error *err)
{
	struct write *w = ctx;
	enum pawl_err rc;

	if ((rc = lock_for_write(w->c, err)) != PAWL_OK)
		return rc;
	return w->fn(w->c, err);
}

enum pawl_err pawl_resource_write(struct pawl_rctx *c, pawl_resource_write_fn *fn,
    struct pawl_error *err)
{
	struct write w = { c, fn };

	if (c->app->cfg->readonly)
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	return pawl_txn_run(c->txn, locked_write, &w, err);
}

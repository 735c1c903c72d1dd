/*
 * The entry point for LIST and ITEM routes: builds the resource context
 * (context.c), then runs the handler the table below names for the route's
 * kind and the request's method, a write inside its unit of work. Holds no
 * state.
 */
#include <string.h>

#include "resource/dispatch.h"
#include "resource/accounts.h"
#include "resource/resource.h"
#include "core/str.h"

typedef enum pawl_err handler_fn(struct pawl_rctx *c, struct pawl_error *err);

/*
 * Every resource handler. HEAD runs GET's handler; the pipeline drops the
 * body and keeps the headers (RFC 9110 9.3.2). A method the route allows and
 * this table does not name is 405 (the router answers the others).
 */
static const struct handler {
	enum pawl_route_kind kind;
	unsigned methods;                       /* PAWL_METHOD_* bits */
	bool writes;                            /* inside pawl_resource_write */
	void (*prepare)(struct pawl_rctx *c);   /* before the write begins, or NULL */
	handler_fn *fn;
} handlers[] = {
	{ PAWL_ROUTE_ITEM, PAWL_METHOD_GET | PAWL_METHOD_HEAD, false, NULL, pawl_object_get },
	{ PAWL_ROUTE_ITEM, PAWL_METHOD_PUT, true, NULL, pawl_object_put },
	{ PAWL_ROUTE_ITEM, PAWL_METHOD_PATCH, true, NULL, pawl_object_patch },
	{ PAWL_ROUTE_ITEM, PAWL_METHOD_DELETE, true, NULL, pawl_object_delete },
	{ PAWL_ROUTE_LIST, PAWL_METHOD_GET | PAWL_METHOD_HEAD, false, NULL, pawl_plural_get },
	{ PAWL_ROUTE_LIST, PAWL_METHOD_POST, true, pawl_plural_post_prepare, pawl_plural_post },
	{ PAWL_ROUTE_LIST, PAWL_METHOD_DELETE, true, NULL, pawl_plural_delete },
};

#define N_HANDLERS (sizeof(handlers) / sizeof(handlers[0]))

static const struct handler *handler_of(enum pawl_route_kind kind, unsigned method)
{
	size_t i;

	for (i = 0; i < N_HANDLERS; i++)
		if (handlers[i].kind == kind && (handlers[i].methods & method))
			return &handlers[i];
	return NULL;
}

/* Accounts: the stored hash is taken out of the answer, a 412's details included. */
static void strip_answer(struct pawl_rctx *c, enum pawl_err rc, struct pawl_error *err)
{
	struct pawl_buf *b = &c->resp->body;
	const char *text;

	if (rc != PAWL_OK) {
		if (err->details != NULL)
			err->details = pawl_accounts_strip(c->req->arena, err->details);
		return;
	}
	if (b->len == 0 || b->data == NULL)
		return;
	text = pawl_accounts_strip(c->req->arena, pawl_arena_strndup(c->req->arena, b->data, b->len));
	if (text == NULL)
		text = "{}";
	b->len = 0;
	pawl_buf_puts(b, text);
}

enum pawl_err pawl_resource_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	const struct handler *h;
	struct pawl_rctx c;
	enum pawl_err rc;

	memset(&c, 0, sizeof(c));
	c.app = app;
	c.req = req;
	c.resp = resp;
	c.txn = txn;
	c.res = req->match.route->resource;
	if ((h = handler_of(req->match.route->kind, req->method_bit)) == NULL)
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	if ((rc = pawl_default_bucket_apply(app, req, txn, err)) != PAWL_OK ||
	    (rc = pawl_resource_context_init(&c, err)) != PAWL_OK)
		return rc;
	if (pawl_accounts_is(c.res) && (rc = pawl_accounts_prepare(&c, err)) != PAWL_OK)
		return rc;
	if (h->prepare != NULL)
		h->prepare(&c);
	rc = h->writes ? pawl_resource_write(&c, h->fn, err) : h->fn(&c, err);
	if (pawl_accounts_is(c.res))
		strip_answer(&c, rc, err);
	return rc;
}

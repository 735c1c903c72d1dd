/*
 * One request's path through the stages: router → content negotiation →
 * body → identity → handler → common headers. Every failure becomes an
 * error response here; nothing escapes as a crash or a 500 without JSON.
 */
#ifndef PAWL_PIPELINE_H
#define PAWL_PIPELINE_H

#include "core/context.h"
#include "http/request.h"
#include "http/response.h"

struct pawl_txn; /* the request's unit of work (txn/): passed through, never opened here */

/*
 * A handler: fills resp, or returns an error the pipeline turns into a
 * response. Writes go through txn, whose events wait for the response.
 */
typedef enum pawl_err pawl_handler_fn(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);

/* The `account` policy: the principal Authorization proves, or NULL. */
typedef const char *pawl_identify_fn(struct pawl_app *app, struct pawl_arena *arena,
    const char *authorization);

/*
 * What the pipeline dispatches to, installed by the root (app.c) in
 * app->dispatch: http/ names no endpoint, so it never includes a layer above.
 */
struct pawl_dispatch {
	pawl_handler_fn *by_kind[PAWL_ROUTE_KINDS]; /* NULL: 404 */
	pawl_identify_fn *account;                  /* NULL: the `account` policy is not built in */
};

/* Handles req completely, filling resp; the handler runs its work in txn. */
void pawl_pipeline_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn);

/* Turns err into resp with the common headers (e.g. a 413 found while reading). */
void pawl_pipeline_error(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, const struct pawl_error *err);

#endif

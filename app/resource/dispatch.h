/*
 * The resource handlers shared by every resource: list and item × method,
 * chosen from a table by the route's kind and the request's method.
 */
#ifndef PAWL_DISPATCH_H
#define PAWL_DISPATCH_H

#include "core/context.h"
#include "http/request.h"
#include "http/response.h"

struct pawl_txn;

/* Serves a LIST or ITEM route. Fills resp, or returns an error for the pipeline. */
enum pawl_err pawl_resource_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);

#endif

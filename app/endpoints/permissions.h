/*
 * GET and HEAD /v1/permissions (routed only with
 * experimental_permissions_endpoint): Kinto's list of the objects the caller
 * holds a permission on, with the permissions they hold there (README,
 * "Listing permissions"). Open to anyone; each caller sees their own.
 */
#ifndef PAWL_ENDPOINTS_PERMISSIONS_H
#define PAWL_ENDPOINTS_PERMISSIONS_H

#include "core/context.h"
#include "http/request.h"
#include "http/response.h"

struct pawl_txn; /* unused: the list is read in one statement */

enum pawl_err pawl_permissions_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);

#endif

/*
 * The service endpoints: hello (GET /v1/), __heartbeat__ (PostgreSQL and
 * each listener under one deadline), __lbheartbeat__ (no I/O) and
 * __version__. Each fills resp or returns an error for the pipeline.
 */
#ifndef PAWL_SERVICE_H
#define PAWL_SERVICE_H

#include "core/context.h"
#include "http/request.h"
#include "http/response.h"

struct pawl_txn; /* unused: no service endpoint writes */

enum pawl_err pawl_service_hello(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);
enum pawl_err pawl_service_heartbeat(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);
enum pawl_err pawl_service_lbheartbeat(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);
enum pawl_err pawl_service_version(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);

#endif

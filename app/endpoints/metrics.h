/*
 * GET /v1/__metrics__ (routed only with metrics_enabled): Prometheus text
 * of the host's counters (README, "Metrics"), for the principals listed in
 * metrics_read_principals; 401 (anonymous) or 403 for anyone else.
 */
#ifndef PAWL_ENDPOINTS_METRICS_H
#define PAWL_ENDPOINTS_METRICS_H

#include "core/context.h"
#include "http/request.h"
#include "http/response.h"

struct pawl_txn; /* unused: reading the metrics writes nothing */

enum pawl_err pawl_metrics_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);

#endif

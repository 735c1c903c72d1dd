/*
 * Service policies around every request (docs/protocol.md §9):
 * end of service (Alert, 410), readonly (405 on writes), Backoff, CORS
 * (preflight and response headers), and the per-endpoint switches
 * `<plural|object>_<resource>_<method>_enabled`.
 */
#ifndef PAWL_POLICY_H
#define PAWL_POLICY_H

#include <stdbool.h>
#include <time.h>

#include "core/context.h"
#include "http/request.h"
#include "http/response.h"

/* Parses the eos setting (YYYY-MM-DD) into *when (0: none). PAWL_ERR_CONFIG when malformed. */
enum pawl_err pawl_policy_parse_eos(const struct pawl_config *cfg, time_t *when,
    struct pawl_error *err);

/*
 * Before the handler, after routing: 410 after the end of service, 405 for
 * writes in readonly mode or on a disabled endpoint. *done is set when resp
 * is complete (a CORS preflight answered).
 */
enum pawl_err pawl_policy_check(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, enum pawl_err routed, bool *done, struct pawl_error *err);

/* On every response, errors included: Alert, Backoff, CORS headers. */
void pawl_policy_headers(struct pawl_app *app, struct pawl_request *req, struct pawl_response *resp);

#endif

/*
 * One request's path through the stages: router → content negotiation →
 * body → identity → handler → common headers. Every failure becomes an
 * error response here; nothing escapes as a crash or a 500 without JSON.
 */
#ifndef PAWL_PIPELINE_H
#define PAWL_PIPELINE_H

#include "pawl/app.h"
#include "pawl/request.h"
#include "pawl/response.h"

/* Handles req completely, filling resp. */
void pawl_pipeline_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp);

/* Turns err into resp with the common headers (e.g. a 413 found while reading). */
void pawl_pipeline_error(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, const struct pawl_error *err);

#endif

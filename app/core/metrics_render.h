/*
 * The counters as Prometheus text (exposition format 0.0.4), for
 * `__metrics__` (README, "Metrics" lists every family and its labels).
 */
#ifndef PAWL_METRICS_RENDER_H
#define PAWL_METRICS_RENDER_H

#include "core/metrics.h"
#include "core/str.h"

/* The Content-Type of what pawl_metrics_render writes. */
#define PAWL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Appends every family of s to b: HELP and TYPE lines always; a series per
 * label set that counted something (requests, their latency, delivery
 * latency), per claimed listener, or always (database, transactions,
 * restarts); the outbox gauges when s->outbox_known. Label values are
 * escaped (\\, \", \n). A failed allocation shows in b->failed.
 */
void pawl_metrics_render(struct pawl_buf *b, const struct pawl_metrics_snapshot *s);

#endif

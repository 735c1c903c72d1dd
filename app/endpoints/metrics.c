/*
 * GET /v1/__metrics__: the host's counters in Prometheus text, plus the
 * outbox gauges read at scrape time. Who may read them is decided first,
 * from the request's own principals and metrics_read_principals alone: a
 * refused scrape reads no counter and sends no statement. Nothing it shows
 * names a user, a bucket or a record.
 */
#include <string.h>

#include "core/metrics.h"
#include "core/metrics_render.h"
#include "events/listener_set.h"
#include "resource/permissions.h"
#include "store/outbox.h"
#include "store/pg.h"
#include "endpoints/metrics.h"

static bool allowed(const struct pawl_config *cfg, struct pawl_request *req)
{
	const char *const *mine = pawl_permissions_principals(req->arena, req->user_id);
	char **p;
	size_t i;

	for (p = cfg->metrics_read_principals; mine != NULL && p != NULL && *p != NULL; p++)
		for (i = 0; mine[i] != NULL; i++)
			if (strcmp(*p, mine[i]) == 0)
				return true;
	return false;
}

/* The backlog, when a durable listener has one; left out when the database does not answer. */
static void outbox_gauges(struct pawl_app *app, struct pawl_arena *arena,
    struct pawl_metrics_snapshot *s)
{
	struct pawl_error err;

	if (!pawl_listener_set_any_durable(app->listeners))
		return;
	s->outbox_known = pawl_outbox_stats(app->pg, arena,
	    app->cfg->heartbeat_timeout_seconds * 1000, &s->outbox_pending,
	    &s->outbox_oldest_seconds, &err) == PAWL_OK;
}

/* A replica's lag, what a read-only head's readers wait for; left out when the database does not answer. */
static void replication_gauges(struct pawl_app *app, struct pawl_arena *arena,
    struct pawl_metrics_snapshot *s)
{
	struct pawl_error err;

	/* The outbox query just failed: a second try would count a second failure. */
	if (pawl_listener_set_any_durable(app->listeners) && !s->outbox_known)
		return;
	s->replication_known = pawl_pg_replication(app->pg, arena,
	    app->cfg->heartbeat_timeout_seconds * 1000, &s->in_recovery,
	    &s->replication_lag_seconds, &err) == PAWL_OK;
}

enum pawl_err pawl_metrics_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	struct pawl_metrics_snapshot *s;

	if (!allowed(app->cfg, req))
		return req->user_id == NULL ?
		    pawl_error_set(err, PAWL_ERR_UNAUTHORIZED,
		    "Please authenticate yourself to use this endpoint.") :
		    pawl_error_set(err, PAWL_ERR_FORBIDDEN, "This user cannot access this resource.");
	if ((s = pawl_arena_calloc(req->arena, 1, sizeof(*s))) == NULL)
		return pawl_error_nomem(err);
	if (pawl_metrics_bound() != NULL)
		pawl_metrics_read(pawl_metrics_bound(), s);
	outbox_gauges(app, req->arena, s);
	replication_gauges(app, req->arena, s);
	resp->status = 200;
	pawl_metrics_render(&resp->body, s);
	pawl_response_header(resp, "Content-Type", PAWL_METRICS_CONTENT_TYPE);
	/* A scrape is a moment's reading: no cache may serve it later. */
	pawl_response_header(resp, "Cache-Control", "no-cache, no-store");
	return PAWL_OK;
}

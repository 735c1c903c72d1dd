/*
 * A snapshot of the counters as Prometheus' text exposition format 0.0.4:
 * HELP and TYPE for every family, escaped label values, histograms as
 * cumulative _bucket series ending with le="+Inf", then _sum and _count.
 * Pure: bytes out from a struct in, so tests compare the exact text.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/metrics.h"
#include "core/metrics_render.h"

#define LABELS_MAX 256

/* The overflow listener slot's label: no alias can be spelled so (letters, digits, _ and -). */
#define OTHER_LISTENER "(other)"

static void family(struct pawl_buf *b, const char *name, const char *type, const char *help)
{
	pawl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Appends name="value" to labels (after a comma when not first), escaping value. */
static void label(char *labels, const char *name, const char *value)
{
	size_t n = strlen(labels);

	n += (size_t)snprintf(labels + n, LABELS_MAX - n, "%s%s=\"", n ? "," : "", name);
	for (; *value != '\0' && n + 3 < LABELS_MAX; value++) {
		if (*value == '\\' || *value == '"' || *value == '\n') {
			labels[n++] = '\\';
			labels[n++] = *value == '\n' ? 'n' : *value;
		} else {
			labels[n++] = *value;
		}
	}
	snprintf(labels + n, LABELS_MAX - n, "\"");
}

static void series(struct pawl_buf *b, const char *name, const char *labels, uint64_t v)
{
	if (*labels != '\0')
		pawl_buf_printf(b, "%s{%s} %" PRIu64 "\n", name, labels, v);
	else
		pawl_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static uint64_t hist_count(const struct pawl_metrics_hist *h)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i <= PAWL_METRICS_BUCKETS; i++)
		n += h->bucket[i];
	return n;
}

/* name_bucket (cumulative), name_sum in seconds (exact: nanoseconds printed as a decimal), name_count. */
static void histogram(struct pawl_buf *b, const char *name, const char *labels,
    const struct pawl_metrics_hist *h)
{
	const char *sep = *labels != '\0' ? "," : "";
	char count[128];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= PAWL_METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		pawl_buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, labels, sep,
		    pawl_metrics_bound_text(i), cum);
	}
	if (*labels != '\0')
		pawl_buf_printf(b, "%s_sum{%s} %" PRIu64 ".%09" PRIu64 "\n", name, labels,
		    h->sum_ns / 1000000000u, h->sum_ns % 1000000000u);
	else
		pawl_buf_printf(b, "%s_sum %" PRIu64 ".%09" PRIu64 "\n", name,
		    h->sum_ns / 1000000000u, h->sum_ns % 1000000000u);
	snprintf(count, sizeof(count), "%s_count", name);
	series(b, count, labels, cum);
}

static void route_method(char *labels, size_t r, size_t m)
{
	labels[0] = '\0';
	label(labels, "route", pawl_metrics_route_name(r));
	label(labels, "method", pawl_metrics_method_name(m));
}

static void requests(struct pawl_buf *b, const struct pawl_metrics_snapshot *s)
{
	char labels[LABELS_MAX], code[16];
	size_t r, m, c;

	family(b, "pawl_requests_total", "counter",
	    "Requests answered, by route kind, method and status code.");
	for (r = 0; r < PAWL_METRICS_ROUTES; r++)
		for (m = 0; m < PAWL_METRICS_METHODS; m++)
			for (c = 0; c < PAWL_METRICS_CODES; c++) {
				if (s->requests[r][m][c] == 0)
					continue;
				route_method(labels, r, m);
				if (pawl_metrics_code_at(c) != 0)
					snprintf(code, sizeof(code), "%d", pawl_metrics_code_at(c));
				else
					snprintf(code, sizeof(code), "other");
				label(labels, "code", code);
				series(b, "pawl_requests_total", labels, s->requests[r][m][c]);
			}
	family(b, "pawl_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its answer, ready to send, by route kind and method.");
	for (r = 0; r < PAWL_METRICS_ROUTES; r++)
		for (m = 0; m < PAWL_METRICS_METHODS; m++) {
			if (hist_count(&s->latency[r][m]) == 0)
				continue;
			route_method(labels, r, m);
			histogram(b, "pawl_request_duration_seconds", labels, &s->latency[r][m]);
		}
}

static void database(struct pawl_buf *b, const struct pawl_metrics_snapshot *s)
{
	char labels[LABELS_MAX];
	size_t i;

	family(b, "pawl_db_statements_total", "counter",
	    "SQL statements sent to PostgreSQL, deferred ones included.");
	series(b, "pawl_db_statements_total", "", s->db_statements);
	family(b, "pawl_db_round_trip_duration_seconds", "histogram",
	    "Time of each PostgreSQL round trip: a statement and the deferred ones it carries.");
	histogram(b, "pawl_db_round_trip_duration_seconds", "", &s->db_time);
	family(b, "pawl_db_errors_total", "counter",
	    "Failed database calls (connections included), by kind.");
	for (i = 0; i < PAWL_METRICS_DB_ERRORS; i++) {
		labels[0] = '\0';
		label(labels, "kind", pawl_metrics_db_error_name(i));
		series(b, "pawl_db_errors_total", labels, s->db_errors[i]);
	}
	family(b, "pawl_transactions_total", "counter",
	    "Requests' units of work (a write, a batch) committed or rolled back.");
	series(b, "pawl_transactions_total", "outcome=\"commit\"", s->committed);
	series(b, "pawl_transactions_total", "outcome=\"rollback\"", s->rolled_back);
}

static bool listener_used(const struct pawl_metrics_listener *l)
{
	return l->name[0] != '\0' || l->staged || l->delivered || l->redis_errors ||
	    l->master_switches ||
	    hist_count(&l->delivery) != 0;
}

static void listener_label(char *labels, const struct pawl_metrics_listener *l)
{
	labels[0] = '\0';
	label(labels, "listener", l->name[0] != '\0' ? l->name : OTHER_LISTENER);
}

/* One counter family over the listeners; field is the offset of the count. */
static void listener_counter(struct pawl_buf *b, const struct pawl_metrics_snapshot *s,
    const char *name, const char *help, size_t field)
{
	char labels[LABELS_MAX];
	size_t i;

	family(b, name, "counter", help);
	for (i = 0; i < s->n_listeners; i++) {
		const struct pawl_metrics_listener *l = &s->listeners[i];
		uint64_t v;

		if (!listener_used(l))
			continue;
		memcpy(&v, (const char *)l + field, sizeof(v));
		listener_label(labels, l);
		series(b, name, labels, v);
	}
}

static void events(struct pawl_buf *b, const struct pawl_metrics_snapshot *s)
{
	char labels[LABELS_MAX];
	size_t i;

	listener_counter(b, s, "pawl_events_staged_total",
	    "Committed events that passed a listener's filters.",
	    offsetof(struct pawl_metrics_listener, staged));
	listener_counter(b, s, "pawl_events_delivered_total",
	    "Events a listener took: accepted by Redis (acknowledged in the outbox), or notified.",
	    offsetof(struct pawl_metrics_listener, delivered));
	family(b, "pawl_event_delivery_latency_seconds", "histogram",
	    "Time from an event's outbox row, written with its COMMIT, to Redis accepting it.");
	for (i = 0; i < s->n_listeners; i++) {
		if (hist_count(&s->listeners[i].delivery) == 0)
			continue;
		listener_label(labels, &s->listeners[i]);
		histogram(b, "pawl_event_delivery_latency_seconds", labels, &s->listeners[i].delivery);
	}
	listener_counter(b, s, "pawl_redis_errors_total",
	    "Failed pushes to a Redis listener (the events stay in the outbox).",
	    offsetof(struct pawl_metrics_listener, redis_errors));
	listener_counter(b, s, "pawl_redis_master_switches_total",
	    "Times a Sentinel listener's pushes moved to another master (a failover).",
	    offsetof(struct pawl_metrics_listener, master_switches));
	if (s->outbox_known) {
		family(b, "pawl_outbox_pending_events", "gauge",
		    "Outbox rows waiting for delivery, at scrape time.");
		pawl_buf_printf(b, "pawl_outbox_pending_events %lld\n", s->outbox_pending);
		family(b, "pawl_outbox_oldest_event_age_seconds", "gauge",
		    "Age of the oldest outbox row at scrape time (0 when empty).");
		pawl_buf_printf(b, "pawl_outbox_oldest_event_age_seconds %.6f\n",
		    s->outbox_oldest_seconds > 0 ? s->outbox_oldest_seconds : 0.0);
	}
}

/* Read at scrape time from the server this process talks to; absent when it did not answer. */
static void replication(struct pawl_buf *b, const struct pawl_metrics_snapshot *s)
{
	if (!s->replication_known)
		return;
	family(b, "pawl_db_in_recovery", "gauge",
	    "1 when the database of this host is a hot standby (a read replica), 0 on a primary.");
	pawl_buf_printf(b, "pawl_db_in_recovery %d\n", s->in_recovery ? 1 : 0);
	family(b, "pawl_db_replication_lag_seconds", "gauge",
	    "How far the standby's replay is behind the last commit it received "
	    "(0 when caught up, and on a primary).");
	pawl_buf_printf(b, "pawl_db_replication_lag_seconds %.6f\n",
	    s->replication_lag_seconds > 0 ? s->replication_lag_seconds : 0.0);
}

void pawl_metrics_render(struct pawl_buf *b, const struct pawl_metrics_snapshot *s)
{
	requests(b, s);
	database(b, s);
	replication(b, s);
	events(b, s);
	family(b, "pawl_worker_restarts_total", "counter",
	    "Children the supervisor respawned after they died.");
	series(b, "pawl_worker_restarts_total", "process=\"worker\"", s->worker_restarts);
	series(b, "pawl_worker_restarts_total", "process=\"relay\"", s->relay_restarts);
	family(b, "pawl_metrics_shared", "gauge",
	    "1 when these counters are shared by every process of the host, 0 when one process's.");
	pawl_buf_printf(b, "pawl_metrics_shared %d\n", s->shared ? 1 : 0);
}

/*
 * Sinks: a durable listener's Redis and list, and the push of outbox rows
 * there, each row with its place in its list's order (order_of) so that the
 * append scripts can drop what they already have; each push kept in the
 * listener's outage record, whose lines are throttled (events/outage.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/metrics.h"
#include "events/redis.h"
#include "events/sink.h"

/*
 * A row's place in its list's order for the append script: its event's
 * timestamp, then its outbox id, as one string whose byte order is that
 * order (two zero-padded numbers); NULL for a read event. Both follow commit
 * order within a list (one writer of a list at a time, timestamps strictly
 * increasing). The timestamp comes first so that a database restored from a
 * backup, whose outbox ids start again lower, still gets its new events
 * through: they are timestamped later than anything pushed before. Reads get
 * their rows after the response, outside any list lock (worker.c), so they
 * follow no order and keep no mark. The payload is pawl's own (stage.c):
 * its first "action":" and "timestamp": are the top-level keys, since a quote
 * inside a JSON string is always escaped.
 */
static const char *order_of(struct pawl_arena *arena, const char *payload, long long id)
{
	const char *a = strstr(payload, "\"action\":\""), *t = strstr(payload, "\"timestamp\":");
	long long ts = t != NULL ? strtoll(t + 12, NULL, 10) : 0;

	if (a != NULL && strncmp(a + 10, "read\"", 5) == 0)
		return NULL;
	return pawl_arena_printf(arena, "%020lld%020lld", ts > 0 ? ts : 0, id > 0 ? id : 0);
}

const char *pawl_sink_stream_key(struct pawl_arena *arena, const char *listname,
    bool per_bucket, const char *list_key)
{
	const char *id = list_key, *end;

	if (!per_bucket || strncmp(list_key, "/buckets/", 9) != 0)
		return listname;
	id += 9;
	end = id + strcspn(id, "/ ");
	if (end == id)
		return listname;
	return pawl_arena_printf(arena, "%s.%.*s", listname, (int)(end - id), id);
}

/*
 * A stream listener's rows: one script call per stream key, each with its
 * rows in id order (a list's rows all share a bucket, so a list's order is
 * kept inside its stream).
 */
static enum pawl_err push_stream(const struct pawl_sink *to, struct pawl_arena *arena,
    const struct pawl_outbox_batch *rows, const char **order, struct pawl_error *err)
{
	const char **keys = pawl_arena_calloc(arena, rows->n + 1, sizeof(*keys));
	const char **lists = pawl_arena_calloc(arena, rows->n + 1, sizeof(*lists));
	const char **ord = pawl_arena_calloc(arena, rows->n + 1, sizeof(*ord));
	const char **pay = pawl_arena_calloc(arena, rows->n + 1, sizeof(*pay));
	bool *done = pawl_arena_calloc(arena, rows->n + 1, sizeof(*done));
	size_t i, j, n, appended;

	if (keys == NULL || lists == NULL || ord == NULL || pay == NULL || done == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows->n; i++)
		if ((keys[i] = pawl_sink_stream_key(arena, to->listname, to->cfg->stream_per_bucket,
		    rows->list_keys[i])) == NULL)
			return pawl_error_nomem(err);
	for (i = 0; i < rows->n; i++) {
		if (done[i])
			continue;
		for (j = i, n = 0; j < rows->n; j++) {
			if (done[j] || strcmp(keys[j], keys[i]) != 0)
				continue;
			done[j] = true;
			lists[n] = rows->list_keys[j];
			ord[n] = order[j];
			pay[n++] = rows->payloads[j];
		}
		if (pawl_redis_stream_append(to->redis, keys[i], to->cfg->maxlen,
		    &(struct pawl_redis_events){ n, lists, ord, pay }, &appended, err) != PAWL_OK)
			return err->code;
	}
	return PAWL_OK;
}

static bool is_stream(const struct pawl_sink *to)
{
	return to->cfg != NULL && to->cfg->type != NULL && strcmp(to->cfg->type, "stream") == 0;
}

bool pawl_sink_of(const struct pawl_listener_set *ls, const char *name, struct pawl_sink *out)
{
	*out = (struct pawl_sink){ name, NULL, NULL, pawl_metrics_listener_slot(name),
		pawl_listener_set_config(ls, name), pawl_listener_set_outage(ls, name) };
	out->redis = pawl_listener_set_redis(ls, name, &out->listname);
	return out->redis != NULL && out->outage != NULL;
}

/* The append itself, through the list or the stream script. */
static enum pawl_err append(const struct pawl_sink *to, struct pawl_arena *arena,
    const struct pawl_outbox_batch *rows, struct pawl_error *err)
{
	const char **order = pawl_arena_calloc(arena, rows->n + 1, sizeof(*order));
	size_t i, appended;
	enum pawl_err rc;

	if (order == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows->n; i++)
		order[i] = order_of(arena, rows->payloads[i], rows->ids[i]);
	if (is_stream(to))
		rc = push_stream(to, arena, rows, order, err);
	else
		rc = pawl_redis_append(to->redis, to->listname, &(struct pawl_redis_events){ rows->n,
		    (const char *const *)rows->list_keys, order, (const char *const *)rows->payloads },
		    &appended, err);
	if (rc != PAWL_OK)
		pawl_metrics_redis_error(to->slot);
	return rc;
}

/* A failed push of to's rows: counted in its outage, logged when the schedule says so. */
static void push_failed(const struct pawl_sink *to, const struct pawl_outbox_batch *rows,
    const struct pawl_error *err)
{
	struct pawl_outage_report rep;

	if (pawl_outage_failed(to->outage, pawl_clock_mono_ms(), &rep))
		pawl_outage_log_failed(to->name, rows->n > 0 ? rows->ids[0] : 0, rows->n, &rep,
		    err->message);
}

enum pawl_err pawl_sink_push(const struct pawl_sink *to, struct pawl_arena *arena,
    const struct pawl_outbox_batch *rows, struct pawl_error *err)
{
	struct pawl_outage_report rep;
	enum pawl_err rc = append(to, arena, rows, err);

	if (rc != PAWL_OK)
		push_failed(to, rows, err);
	else if (pawl_outage_ended(to->outage, pawl_clock_mono_ms(), &rep))
		pawl_outage_log_recovered(to->name, &rep);
	return rc;
}

/*
 * Each row's delay: the age the database measured when it took the row,
 * plus the time here since the take was sent -- no clock of two machines
 * is compared.
 */
void pawl_sink_count_delivered(const struct pawl_outbox_batch *b, const struct pawl_sink *to,
    long long taken_ns)
{
	long long since = pawl_clock_mono_ns() - taken_ns;
	size_t i;
	int slot = to != NULL ? to->slot : -1;

	for (i = 0; i < b->n && pawl_metrics_bound() != NULL; i++) {
		if (to == NULL)
			slot = pawl_metrics_listener_slot(b->listeners[i]);
		pawl_metrics_delivered(slot, 1);
		pawl_metrics_delivery_latency(slot, (long long)(b->ages[i] * 1e9) + since);
	}
}

/* One delivery transaction's work: take rows under the list locks, push them. */

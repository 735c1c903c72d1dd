/*
 * The workers' side of delivery (relay.h): after a COMMIT, a byte down the
 * relay's wake pipe under the supervisor; for a worker running alone, the
 * push of its own transaction's lists, each (listener, list) in a
 * transaction of its own -- the take under the list's lock, the push, the
 * COMMIT -- so a listener that fails holds back only its own rows.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/outbox.h"
#include "store/pg.h"
#include "events/outage.h"
#include "events/relay.h"
#include "events/sink.h"

/* One delivery transaction's work: take one list's rows under its lock, push them. */
struct delivery {
	struct pawl_pg *pg;
	struct pawl_arena *arena;
	const struct pawl_sink *to;
	const struct pawl_outbox_due *due;
	struct pawl_outbox_batch *b;
};

static enum pawl_err take_and_push(void *ctx, struct pawl_error *err)
{
	struct delivery *d = ctx;
	enum pawl_err rc;

	if ((rc = pawl_outbox_take(d->pg, d->arena, d->due, d->b, err)) != PAWL_OK || d->b->n == 0)
		return rc;
	return pawl_sink_push(d->to, d->arena, d->b, err);
}

/* Losing a delivery's DELETE in a crash only pushes the rows again (at least once). */
static enum pawl_err deliver_batch(const struct pawl_sink *to, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_outbox_due *due, struct pawl_outbox_batch *b,
    struct pawl_error *err)
{
	struct delivery d = { .pg = pg, .arena = arena, .to = to, .due = due, .b = b };
	long long start = pawl_clock_mono_ns();
	enum pawl_err rc = pawl_pg_transaction(pg, arena, PAWL_PG_TXN_NOWAIT, take_and_push, &d, err);

	if (rc == PAWL_OK)
		pawl_sink_count_delivered(b, to, start);
	return rc;
}

enum pawl_err pawl_relay_deliver(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_outbox_due *due, bool *busy,
    struct pawl_error *err)
{
	struct pawl_sink to;
	struct pawl_outbox_batch b;
	enum pawl_err rc;

	*busy = false;
	/* Rows of a listener that is no longer configured wait, visibly, in the heartbeat. */
	if (!pawl_sink_of(ls, due->listener, &to))
		return PAWL_OK;
	/* Down a moment ago: no take and rollback per write; the relay retries in time. */
	if (!pawl_outage_due(to.outage, pawl_clock_mono_ms(), PAWL_OUTAGE_RETRY_MS)) {
		*busy = true;
		return PAWL_OK;
	}
	do {
		if ((rc = deliver_batch(&to, pg, arena, due, &b, err)) != PAWL_OK)
			return rc;
		if (!b.locked) {
			*busy = true;
			return PAWL_OK;
		}
	} while (b.n == (size_t)due->limit);
	return PAWL_OK;
}

struct pair {
	const char *listener;
	const char *list_key;
};

/* The distinct (durable listener, list) pairs the stage's events go to. */
static struct pair *pairs_of(const struct pawl_listener_set *ls, struct pawl_arena *arena,
    const struct pawl_stage *st, size_t *count)
{
	size_t i, j, k, n = 0, cap = 0;
	struct pair *pairs = NULL;

	for (i = 0; i < pawl_stage_count(st); i++) {
		const struct pawl_event *ev = pawl_stage_event(st, i);
		const char **names = pawl_listener_set_durable_for(ls, arena, ev);

		for (j = 0; names != NULL && names[j] != NULL; j++) {
			for (k = 0; k < n; k++)
				if (strcmp(pairs[k].listener, names[j]) == 0 &&
				    strcmp(pairs[k].list_key, pawl_event_list_key(ev)) == 0)
					break;
			if (k < n)
				continue;
			if (n == cap) {
				struct pair *fresh = pawl_arena_alloc(arena, (cap ? cap * 2 : 8) * sizeof(*fresh));

				if (fresh == NULL)
					break;
				if (n)
					memcpy(fresh, pairs, n * sizeof(*fresh));
				pairs = fresh;
				cap = cap ? cap * 2 : 8;
			}
			pairs[n].listener = names[j];
			pairs[n].list_key = pawl_event_list_key(ev);
			n++;
		}
	}
	*count = n;
	return pairs;
}

void pawl_relay_after_commit(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_stage *st)
{
	struct pawl_error err;
	struct pair *pairs;
	const char *snapshot = NULL;
	size_t n = 0, i;
	bool leftover = false;

	if (st == NULL || pawl_stage_count(st) == 0 || !pawl_listener_set_any_durable(ls))
		return;
	pairs = pairs_of(ls, arena, st, &n);
	if (n > 0 && pawl_outbox_barrier(pg, arena, &snapshot, &err) != PAWL_OK)
		leftover = true;
	/* One transaction per (listener, list): a listener that fails holds back only its rows. */
	for (i = 0; snapshot != NULL && i < n; i++) {
		bool busy;

		struct pawl_outbox_due due = { snapshot, 500, pairs[i].listener, pairs[i].list_key,
		    NULL, 0 };

		if (pawl_relay_deliver(ls, pg, arena, &due, &busy, &err) != PAWL_OK || busy)
			leftover = true;
	}
	if (leftover && pawl_outbox_wake(pg, arena, &err) != PAWL_OK)
		pawl_log_warn("could not wake the relay: %s", err.message);
}

void pawl_relay_wake(const struct pawl_listener_set *ls, const struct pawl_stage *st, int wake_fd)
{
	size_t i;

	for (i = 0; i < pawl_stage_count(st); i++) {
		const struct pawl_event *ev = pawl_stage_event(st, i);

		if (pawl_listener_set_wanted(ls, pawl_event_action(ev), pawl_event_resource_name(ev))) {
			/* EAGAIN: the pipe is full of wake-ups the relay has yet to read. */
			if (write(wake_fd, "w", 1) < 0 && errno != EAGAIN && errno != EINTR)
				pawl_log_warn("could not wake the relay: %s", strerror(errno));
			return;
		}
	}
}

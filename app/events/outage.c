/*
 * The throttle of a listener's failure lines (outage.h): a line at the
 * first failure, then at most one per gap, the gap doubling from 1 s up to
 * 60 s, so an outage of d seconds logs about log2(d) lines, not one per try.
 */
#include "core/log.h"
#include "events/outage.h"

bool pawl_outage_failed(struct pawl_outage *o, long long now_ms, struct pawl_outage_report *rep)
{
	if (!o->down) {
		*o = (struct pawl_outage){ true, now_ms, now_ms, now_ms, PAWL_OUTAGE_FIRST_GAP_MS, 1, 0 };
		*rep = (struct pawl_outage_report){ 1, 0, 0 };
		return true;
	}
	o->failed++;
	o->last_ms = now_ms;
	if (now_ms - o->line_ms < o->gap_ms) {
		o->unlogged++;
		return false;
	}
	*rep = (struct pawl_outage_report){ o->failed, o->unlogged, now_ms - o->since_ms };
	o->line_ms = now_ms;
	o->unlogged = 0;
	o->gap_ms = o->gap_ms * 2 < PAWL_OUTAGE_MAX_GAP_MS ? o->gap_ms * 2 : PAWL_OUTAGE_MAX_GAP_MS;
	return true;
}

bool pawl_outage_ended(struct pawl_outage *o, long long now_ms, struct pawl_outage_report *rep)
{
	if (!o->down)
		return false;
	*rep = (struct pawl_outage_report){ o->failed, o->unlogged, now_ms - o->since_ms };
	*o = (struct pawl_outage){ .down = false };
	return true;
}

bool pawl_outage_due(const struct pawl_outage *o, long long now_ms, long long retry_ms)
{
	return !o->down || now_ms - o->last_ms >= retry_ms;
}

void pawl_outage_log_failed(const char *listener, long long first_id, size_t rows,
    const struct pawl_outage_report *rep, const char *reason)
{
	const struct pawl_log_field fields[] = {
		PAWL_LOG_S("listener", listener),
		PAWL_LOG_I("outbox_id", first_id),
		PAWL_LOG_I("rows", rows),
		PAWL_LOG_I("attempt", rep->attempt),
		PAWL_LOG_I("suppressed", rep->suppressed),
		PAWL_LOG_I("outage_ms", rep->outage_ms),
		PAWL_LOG_S("reason", reason),
	};

	pawl_log_fields(PAWL_LOG_WARN, "event.delivery_failed", fields,
	    sizeof(fields) / sizeof(fields[0]),
	    "delivery to listener '%s' failed; its rows stay in the outbox for the next attempt",
	    listener);
}

void pawl_outage_log_recovered(const char *listener, const struct pawl_outage_report *rep)
{
	const struct pawl_log_field fields[] = {
		PAWL_LOG_S("listener", listener),
		PAWL_LOG_I("outage_ms", rep->outage_ms),
		PAWL_LOG_I("failed_attempts", rep->attempt),
	};

	pawl_log_fields(PAWL_LOG_INFO, "event.delivery_recovered", fields,
	    sizeof(fields) / sizeof(fields[0]),
	    "delivery to listener '%s' recovered after %lld ms and %ld failed attempts", listener,
	    rep->outage_ms, rep->attempt);
}

/*
 * Listener instances from the config. The Redis listener is durable: its
 * events go through the outbox. A plugin is dlopen()ed and called through
 * the registry after COMMIT. Listener failures are logged and counted; they
 * never fail a request whose change is committed.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pawl/listener.h"
#include "events/listener_set.h"
#include "events/subscribers.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/str.h"
#include "store/outbox.h"
#include "events/outage.h"
#include "events/redis.h"

#define REDIS_TIMEOUT_MS 500

struct instance {
	const struct pawl_listener_config *cfg;
	struct pawl_redis *redis;        /* durable Redis listener */
	void *dl;                        /* plugin: dlopen handle */
	struct pawl_listener plugin;
	struct pawl_listener_option *options;
	int slot;                        /* its counters (core/metrics.h); -1: none */
	struct pawl_outage outage;       /* durable: this process's failed pushes (events/outage.h) */
};

struct pawl_listener_set {
	struct instance *items;
	size_t n;
};

/* The parse error of c's setting key, named. */
static enum pawl_err bad_setting(const struct pawl_listener_config *c, const char *key,
    struct pawl_error *err)
{
	char msg[PAWL_ERROR_MESSAGE_MAX];

	snprintf(msg, sizeof(msg), "%s", err->message);
	return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s.%s': %s", c->name,
	    key, msg);
}

enum pawl_err pawl_listener_redis_new(const struct pawl_listener_config *c, int timeout_ms,
    struct pawl_redis **out, struct pawl_error *err)
{
	struct pawl_redis_sentinels sentinels;
	struct pawl_redis_url url;
	struct pawl_redis *r;

	if (c->sentinels == NULL) {
		if (pawl_redis_parse_url(c->url, &url, err) != PAWL_OK)
			return bad_setting(c, "url", err);
		if (out == NULL)
			return PAWL_OK;
		r = pawl_redis_new(&url, timeout_ms);
	} else {
		if (pawl_redis_parse_sentinels(c->sentinels, &sentinels, err) != PAWL_OK)
			return bad_setting(c, "sentinels", err);
		/* A name Sentinel would take: no blanks or control characters, and it fits. */
		if (c->sentinel_master == NULL || strlen(c->sentinel_master) >= PAWL_REDIS_MASTER_MAX ||
		    c->sentinel_master[strcspn(c->sentinel_master, " \t")] != '\0' ||
		    pawl_str_has_ctl(c->sentinel_master))
			return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s."
			    "sentinel_master': expected a name of at most %d characters, without blanks",
			    c->name, PAWL_REDIS_MASTER_MAX - 1);
		if (c->sentinel_password != NULL && strlen(c->sentinel_password) >= sizeof(url.password))
			return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s."
			    "sentinel_password': too long", c->name);
		if (c->sentinels_password != NULL &&
		    strlen(c->sentinels_password) >= sizeof(sentinels.password))
			return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s."
			    "sentinels_password': too long", c->name);
		snprintf(sentinels.password, sizeof(sentinels.password), "%s",
		    c->sentinels_password != NULL ? c->sentinels_password : "");
		if (out == NULL)
			return PAWL_OK;
		memset(&url, 0, sizeof(url));
		snprintf(url.password, sizeof(url.password), "%s",
		    c->sentinel_password != NULL ? c->sentinel_password : "");
		url.db = c->sentinel_db;
		r = pawl_redis_new_sentinel(&sentinels, c->sentinel_master, &url, timeout_ms);
	}
	if (r == NULL)
		return pawl_error_nomem(err);
	pawl_redis_set_wait_replicas(r, c->wait_replicas);
	*out = r;
	return PAWL_OK;
}

static enum pawl_err load_redis(struct instance *in, struct pawl_error *err)
{
	if (pawl_listener_redis_new(in->cfg, REDIS_TIMEOUT_MS, &in->redis, err) != PAWL_OK)
		return err->code;
	pawl_redis_set_slot(in->redis, in->slot);
	return PAWL_OK;
}

static void plugin_notify(const struct pawl_event *ev, void *ctx)
{
	struct instance *in = ctx;

	in->plugin.notify(ev, in->plugin.ctx);
	pawl_metrics_delivered(in->slot, 1);
}

enum pawl_err pawl_listener_plugin_open(const struct pawl_listener_config *c, void **dl,
    pawl_listener_load_fn **load, struct pawl_error *err)
{
	enum pawl_err rc = PAWL_OK;
	const int *abi;

	if ((*dl = dlopen(c->use, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s.use': %s",
		    c->name, dlerror());
	*(void **)load = dlsym(*dl, PAWL_LISTENER_ENTRY);
	abi = dlsym(*dl, PAWL_LISTENER_ABI_SYMBOL);
	if (*load == NULL || abi == NULL)
		rc = pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s.use': %s does "
		    "not export %s (was it built without PAWL_LISTENER_PLUGIN of pawl/listener.h?)",
		    c->name, c->use, *load == NULL ? PAWL_LISTENER_ENTRY : PAWL_LISTENER_ABI_SYMBOL);
	else if (*abi != PAWL_LISTENER_ABI)
		rc = pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'event_listeners.%s.use': %s was "
		    "built for listener ABI %d, this pawl speaks %d: rebuild it against this pawl's "
		    "headers (pkg-config --cflags pawl)", c->name, c->use, *abi, PAWL_LISTENER_ABI);
	if (rc != PAWL_OK) {
		dlclose(*dl);
		*dl = NULL;
	}
	return rc;
}

static enum pawl_err load_plugin(struct instance *in, struct pawl_subscribers *reg,
    struct pawl_error *err)
{
	const struct pawl_listener_config *c = in->cfg;
	char message[256] = "";
	struct pawl_listener_settings s = { PAWL_LISTENER_ABI, c->name, NULL, c->n_options,
		message, sizeof(message) };
	pawl_listener_load_fn *load;
	size_t i;

	if (pawl_listener_plugin_open(c, &in->dl, &load, err) != PAWL_OK)
		return PAWL_ERR_CONFIG;
	in->options = calloc(c->n_options + 1, sizeof(*in->options));
	if (in->options == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < c->n_options; i++) {
		in->options[i].key = c->options[i].key;
		in->options[i].value = c->options[i].value;
	}
	s.options = in->options;
	if (load(&s, &in->plugin) != 0 || in->plugin.notify == NULL)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "listener '%s' (%s) refused to load: %s",
		    c->name, c->use, message[0] ? message : "no reason given");
	if (c->actions & ~(unsigned)PAWL_EVENT_READ &&
	    pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_CHANGED, c->actions,
	    (const char *const *)c->resources, plugin_notify, in) != PAWL_OK)
		return pawl_error_nomem(err);
	if (c->actions & PAWL_EVENT_READ &&
	    pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_READ, PAWL_EVENT_READ,
	    (const char *const *)c->resources, plugin_notify, in) != PAWL_OK)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

struct pawl_listener_set *pawl_listener_set_new(const struct pawl_config *cfg,
    struct pawl_subscribers *reg, struct pawl_error *err)
{
	struct pawl_listener_set *ls = calloc(1, sizeof(*ls));
	size_t i;

	if (ls == NULL || (ls->items = calloc(cfg->n_listeners + 1, sizeof(*ls->items))) == NULL) {
		pawl_error_nomem(err);
		goto fail;
	}
	for (i = 0; i < cfg->n_listeners; i++) {
		struct instance *in = &ls->items[ls->n++];

		in->cfg = &cfg->listeners[i];
		in->slot = pawl_metrics_listener_slot(in->cfg->name);
		if ((strcmp(in->cfg->use, "redis") == 0 ? load_redis(in, err)
		    : load_plugin(in, reg, err)) != PAWL_OK)
			goto fail;
	}
	return ls;
fail:
	pawl_listener_set_free(ls);
	return NULL;
}

void pawl_listener_set_free(struct pawl_listener_set *ls)
{
	size_t i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		struct instance *in = &ls->items[i];

		if (in->plugin.notify != NULL && in->plugin.close != NULL)
			in->plugin.close(in->plugin.ctx);
		if (in->dl != NULL)
			dlclose(in->dl);
		pawl_redis_free(in->redis);
		free(in->options);
	}
	free(ls->items);
	free(ls);
}

static bool matches(const struct instance *in, enum pawl_event_action action, const char *name)
{
	return in->redis != NULL && pawl_subscribers_match(in->cfg->actions,
	    (const char *const *)in->cfg->resources, action, name);
}

bool pawl_listener_set_wanted(const struct pawl_listener_set *ls, enum pawl_event_action action,
    const char *resource_name)
{
	size_t i;

	for (i = 0; ls != NULL && i < ls->n; i++)
		if (matches(&ls->items[i], action, resource_name))
			return true;
	return false;
}

void pawl_listener_set_count_staged(const struct pawl_listener_set *ls,
    const struct pawl_stage *st)
{
	size_t i, j, n;

	for (j = 0; ls != NULL && st != NULL && j < ls->n; j++) {
		const struct instance *in = &ls->items[j];

		if (in->slot < 0)
			continue;
		for (i = 0, n = 0; i < pawl_stage_count(st); i++) {
			const struct pawl_event *ev = pawl_stage_event(st, i);

			n += pawl_subscribers_match(in->cfg->actions, (const char *const *)in->cfg->resources,
			    pawl_event_action(ev), pawl_event_resource_name(ev));
		}
		if (n > 0)
			pawl_metrics_staged(in->slot, n);
	}
}

const char **pawl_listener_set_durable_names(const struct pawl_listener_set *ls,
    struct pawl_arena *arena, size_t *n)
{
	const char **names = pawl_arena_calloc(arena, ls->n + 1, sizeof(*names));
	size_t i;

	*n = 0;
	for (i = 0; names != NULL && i < ls->n; i++)
		if (ls->items[i].redis != NULL)
			names[(*n)++] = ls->items[i].cfg->name;
	return names;
}

bool pawl_listener_set_any_durable(const struct pawl_listener_set *ls)
{
	size_t i;

	for (i = 0; ls != NULL && i < ls->n; i++)
		if (ls->items[i].redis != NULL)
			return true;
	return false;
}

const char **pawl_listener_set_durable_for(const struct pawl_listener_set *ls,
    struct pawl_arena *arena, const struct pawl_event *ev)
{
	const char **names = pawl_arena_calloc(arena, ls->n + 1, sizeof(*names));
	size_t i, n = 0;

	for (i = 0; names != NULL && i < ls->n; i++)
		if (matches(&ls->items[i], pawl_event_action(ev), pawl_event_resource_name(ev)))
			names[n++] = ls->items[i].cfg->name;
	return names;
}

/*
 * What one listener receives: the event's payload, built once at seal, or
 * for a listener with include_data a copy with the objects' data, built here
 * per listener (each may have its own cap; none is built when none asks).
 */
static const char *payload_for(const struct instance *in, struct pawl_arena *arena,
    const struct pawl_event *ev)
{
	if (!in->cfg->include_data)
		return pawl_event_payload(ev);
	return pawl_stage_payload_data(arena, ev, (size_t)in->cfg->data_max_bytes);
}

enum pawl_err pawl_listener_set_stage_outbox(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, struct pawl_stage *st, struct pawl_error *err)
{
	size_t n_events = pawl_stage_count(st), cap = n_events * (ls ? ls->n : 0), n = 0, i, j;
	const char **names, **keys, **payloads;

	if (cap == 0 || pawl_stage_outboxed(st))
		return PAWL_OK;
	names = pawl_arena_calloc(arena, cap, sizeof(*names));
	keys = pawl_arena_calloc(arena, cap, sizeof(*keys));
	payloads = pawl_arena_calloc(arena, cap, sizeof(*payloads));
	if (names == NULL || keys == NULL || payloads == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < n_events; i++) {
		const struct pawl_event *ev = pawl_stage_event(st, i);

		for (j = 0; j < ls->n; j++) {
			if (!matches(&ls->items[j], pawl_event_action(ev), pawl_event_resource_name(ev)))
				continue;
			names[n] = ls->items[j].cfg->name;
			keys[n] = pawl_event_list_key(ev);
			payloads[n] = payload_for(&ls->items[j], arena, ev);
			if (payloads[n++] == NULL)
				return pawl_error_nomem(err);
		}
	}
	if (pawl_outbox_write(pg, arena, &(struct pawl_outbox_rows){ n, names, keys, payloads },
	    err) != PAWL_OK)
		return err->code;
	pawl_stage_mark_outboxed(st);
	return PAWL_OK;
}

struct pawl_redis *pawl_listener_set_redis(const struct pawl_listener_set *ls, const char *name,
    const char **listname)
{
	size_t i;

	for (i = 0; ls != NULL && i < ls->n; i++) {
		if (ls->items[i].redis != NULL && strcmp(ls->items[i].cfg->name, name) == 0) {
			*listname = ls->items[i].cfg->listname;
			return ls->items[i].redis;
		}
	}
	return NULL;
}

struct pawl_outage *pawl_listener_set_outage(const struct pawl_listener_set *ls,
    const char *name)
{
	size_t i;

	for (i = 0; ls != NULL && i < ls->n; i++)
		if (ls->items[i].redis != NULL && strcmp(ls->items[i].cfg->name, name) == 0)
			return &ls->items[i].outage;
	return NULL;
}

const struct pawl_listener_config *pawl_listener_set_config(const struct pawl_listener_set *ls,
    const char *name)
{
	size_t i;

	for (i = 0; ls != NULL && i < ls->n; i++)
		if (strcmp(ls->items[i].cfg->name, name) == 0)
			return ls->items[i].cfg;
	return NULL;
}

bool pawl_listener_set_heartbeat(const struct pawl_listener_set *ls, json_object *out, int timeout_ms,
    int grace_ms)
{
	long long deadline = pawl_clock_mono_ms() + timeout_ms;
	bool all = true;
	size_t i;

	for (i = 0; ls != NULL && i < ls->n; i++) {
		const struct instance *in = &ls->items[i];
		struct pawl_error err;
		bool ok;

		long long left = deadline - pawl_clock_mono_ms();

		if (in->redis != NULL)
			ok = pawl_redis_ping(in->redis, left < grace_ms ? grace_ms : (int)left,
			    &err) == PAWL_OK;
		else if (in->plugin.healthy != NULL)
			ok = in->plugin.healthy(in->plugin.ctx) != 0;
		else {
			/* Kinto's null: a plugin without a health check has nothing to say. */
			json_object_object_add(out, in->cfg->name, NULL);
			continue;
		}
		all = all && ok;
		json_object_object_add(out, in->cfg->name, json_object_new_boolean(ok));
	}
	return all;
}

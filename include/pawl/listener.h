/*
 * The listener plugin contract (docs/protocol.md §8): the C analogue of Cliquet's
 * ListenerBase and load_from_config. A plugin is a shared object named by
 * `event_listeners.<name>.use = /path/to/plugin.so`; pawl dlopen()s it in each
 * worker and calls its one entry point:
 *
 *     int pawl_listener_load(const struct pawl_listener_settings *settings,
 *                            struct pawl_listener *out);
 *
 * It returns 0 and fills *out, or non-zero with a message in
 * settings->error (startup then fails, naming the listener). pawl calls
 * out->notify for every event that passes the listener's `actions` and
 * `resources` filters, after the transaction committed, in the worker that
 * served the request; a plugin must return quickly (hand slow work to its
 * own queue) and must never call exit(). out->close runs when the worker stops.
 * Plugins are in-process and best effort: for delivery that survives
 * crashes and outages use the Redis listener, which goes through the outbox.
 *
 * The ABI a plugin and pawl agree on, all of it:
 *   - two exported symbols with C linkage, both declared (and the second
 *     defined) by writing `PAWL_LISTENER_PLUGIN;` once at file scope:
 *     pawl_listener_load (PAWL_LISTENER_ENTRY), a pawl_listener_load_fn, and
 *     pawl_listener_abi (PAWL_LISTENER_ABI_SYMBOL), a const int holding the
 *     PAWL_LISTENER_ABI the plugin was compiled with;
 *   - the structs and types of this header and of event.h, and the
 *     pawl_event_* functions of event.h, which resolve to pawl-fcgi's own at
 *     dlopen() (a plugin links against no library of pawl's).
 * pawl refuses, as a configuration error at `pawl-fcgi check` and at start, a
 * plugin without either symbol or whose pawl_listener_abi is not its own
 * PAWL_LISTENER_ABI; settings->abi also tells the plugin pawl's. The number
 * goes up whenever a struct's layout, a field's meaning or a function's
 * signature here or in event.h changes. A new accessor does not change it: a
 * plugin that calls one its pawl lacks fails dlopen() with the symbol's name.
 *
 * Build one against an installed pawl with
 *     cc $(pkg-config --cflags pawl) -fPIC -shared -o my.so my.c
 * and install it under $(pkg-config --variable=pluginsdir pawl).
 */
#ifndef PAWL_LISTENER_H
#define PAWL_LISTENER_H

#include <stddef.h>

#include "pawl/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PAWL_LISTENER_ABI 1
#define PAWL_LISTENER_ENTRY "pawl_listener_load"
#define PAWL_LISTENER_ABI_SYMBOL "pawl_listener_abi"

struct pawl_listener_option {
	const char *key;   /* option name without the prefix: "path", "url"... */
	const char *value;
};

struct pawl_listener_settings {
	int abi;                                   /* PAWL_LISTENER_ABI */
	const char *name;                          /* the alias in event_listeners */
	const struct pawl_listener_option *options; /* every event_listeners.<name>.* */
	size_t n_options;
	char *error;                               /* for a failure message */
	size_t error_size;
};

/* The value of an option, or NULL. (Inline: plugins link against nothing of pawl's.) */
static inline const char *pawl_listener_option(const struct pawl_listener_settings *s,
    const char *key)
{
	size_t i;

	for (i = 0; i < s->n_options; i++) {
		const char *a = s->options[i].key, *b = key;

		while (*a && *a == *b) {
			a++;
			b++;
		}
		if (*a == *b)
			return s->options[i].value;
	}
	return NULL;
}

struct pawl_listener {
	void *ctx;                    /* the plugin's state, passed back */
	pawl_event_fn *notify;        /* required */
	void (*close)(void *ctx);     /* optional */
	int (*healthy)(void *ctx);    /* optional: 1 healthy, 0 not (shown in __heartbeat__) */
};

typedef int pawl_listener_load_fn(const struct pawl_listener_settings *settings,
    struct pawl_listener *out);

#ifdef __cplusplus
}
#define PAWL_LISTENER_LINKAGE_ extern "C"
#else
#define PAWL_LISTENER_LINKAGE_ extern
#endif
/* Exported even from a plugin built with -fvisibility=hidden. */
#ifdef __GNUC__
#define PAWL_LISTENER_EXPORT_ __attribute__((visibility("default")))
#else
#define PAWL_LISTENER_EXPORT_
#endif

/* Once per plugin, at file scope: `PAWL_LISTENER_PLUGIN;` (see the ABI above). */
#define PAWL_LISTENER_PLUGIN \
	PAWL_LISTENER_LINKAGE_ PAWL_LISTENER_EXPORT_ pawl_listener_load_fn pawl_listener_load; \
	PAWL_LISTENER_LINKAGE_ PAWL_LISTENER_EXPORT_ const int pawl_listener_abi; \
	const int pawl_listener_abi = PAWL_LISTENER_ABI

#endif

/*
 * The one table of action names: what listeners' `actions` settings say and
 * what event payloads carry ("create", "update", "delete", "read", as Kinto
 * names them), for the bits of include/pawl/event.h.
 */
#include <string.h>

#include "core/actions.h"

static const struct {
	const char *name;
	enum pawl_event_action bit;
} actions[] = {
	{ "create", PAWL_EVENT_CREATE }, { "update", PAWL_EVENT_UPDATE },
	{ "delete", PAWL_EVENT_DELETE }, { "read", PAWL_EVENT_READ },
};

#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

/* Part of the plugin API (pawl/event.h): exported from the binary. */
const char *pawl_event_action_name(enum pawl_event_action a)
{
	size_t i;

	for (i = 0; i < N_ACTIONS; i++)
		if (actions[i].bit == a)
			return actions[i].name;
	return "unknown";
}

unsigned pawl_action_parse(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < N_ACTIONS; i++)
		if (strcmp(actions[i].name, name) == 0)
			return actions[i].bit;
	return 0;
}

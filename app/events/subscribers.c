/*
 * In-process subscribers: plugin listeners and anything else registered at
 * start get each committed event after the response (txn/txn.c publishes),
 * filtered by action and resource as Cliquet's listeners are.
 */
#include <stdlib.h>
#include <string.h>

#include "events/subscribers.h"

struct subscriber {
	enum pawl_event_type type;
	unsigned actions;
	char **resources; /* NULL-terminated, or NULL for all */
	pawl_event_fn *fn;
	void *ctx;
};

struct pawl_subscribers {
	struct subscriber *subs;
	size_t n, cap;
};

struct pawl_subscribers *pawl_subscribers_new(void)
{
	return calloc(1, sizeof(struct pawl_subscribers));
}

static void free_list(char **list)
{
	char **p;

	for (p = list; p != NULL && *p != NULL; p++)
		free(*p);
	free(list);
}

void pawl_subscribers_free(struct pawl_subscribers *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	for (i = 0; i < reg->n; i++)
		free_list(reg->subs[i].resources);
	free(reg->subs);
	free(reg);
}

static char **copy_list(const char *const *list, bool *ok)
{
	size_t n = 0, i;
	char **out;

	*ok = true;
	if (list == NULL)
		return NULL;
	while (list[n] != NULL)
		n++;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((out[i] = strdup(list[i])) == NULL) {
			free_list(out);
			*ok = false;
			return NULL;
		}
	}
	return out;
}

enum pawl_err pawl_subscribers_subscribe(struct pawl_subscribers *reg, enum pawl_event_type type,
    unsigned actions, const char *const *resources, pawl_event_fn *fn, void *ctx)
{
	struct subscriber *s;
	bool ok;

	if (reg->n == reg->cap) {
		size_t ncap = reg->cap ? reg->cap * 2 : 8;
		struct subscriber *fresh = realloc(reg->subs, ncap * sizeof(*fresh));

		if (fresh == NULL)
			return PAWL_ERR_NOMEM;
		reg->subs = fresh;
		reg->cap = ncap;
	}
	s = &reg->subs[reg->n];
	s->type = type;
	s->actions = actions;
	s->fn = fn;
	s->ctx = ctx;
	s->resources = copy_list(resources, &ok);
	if (!ok)
		return PAWL_ERR_NOMEM;
	reg->n++;
	return PAWL_OK;
}

bool pawl_subscribers_match(unsigned actions, const char *const *resources,
    enum pawl_event_action action, const char *resource_name)
{
	const char *const *r;

	if (!(actions & (unsigned)action))
		return false;
	if (resources == NULL || resources[0] == NULL)
		return true;
	for (r = resources; *r != NULL; r++)
		if (strcmp(*r, resource_name) == 0)
			return true;
	return false;
}

bool pawl_subscribers_wanted(const struct pawl_subscribers *reg, enum pawl_event_action action,
    const char *resource_name)
{
	size_t i;

	for (i = 0; reg != NULL && i < reg->n; i++)
		if (pawl_subscribers_match(reg->subs[i].actions, (const char *const *)reg->subs[i].resources,
		    action, resource_name))
			return true;
	return false;
}

void pawl_subscribers_dispatch(const struct pawl_subscribers *reg, const struct pawl_stage *st)
{
	size_t i, j;

	for (i = 0; reg != NULL && st != NULL && i < pawl_stage_count(st); i++) {
		const struct pawl_event *ev = pawl_stage_event(st, i);

		for (j = 0; j < reg->n; j++) {
			const struct subscriber *s = &reg->subs[j];

			if (s->type == pawl_event_type(ev) && pawl_subscribers_match(s->actions,
			    (const char *const *)s->resources, pawl_event_action(ev),
			    pawl_event_resource_name(ev)))
				s->fn(ev, s->ctx);
		}
	}
}

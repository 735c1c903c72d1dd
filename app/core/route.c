/* Method names and matchdict lookups (core/route.h). */
#include <string.h>

#include "core/route.h"

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{ "DELETE", PAWL_METHOD_DELETE }, { "GET", PAWL_METHOD_GET },
	{ "HEAD", PAWL_METHOD_HEAD }, { "OPTIONS", PAWL_METHOD_OPTIONS },
	{ "PATCH", PAWL_METHOD_PATCH }, { "POST", PAWL_METHOD_POST },
	{ "PUT", PAWL_METHOD_PUT },
};

#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

unsigned pawl_method_parse(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < N_METHODS; i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].bit;
	return 0;
}

const char *pawl_matchdict_get(const struct pawl_matchdict *md, const char *name)
{
	size_t i;

	for (i = 0; i < md->n; i++)
		if (strcmp(md->kv[i].name, name) == 0)
			return md->kv[i].value;
	return NULL;
}

const char *pawl_method_name_at(size_t i, unsigned *bit)
{
	if (i >= N_METHODS)
		return NULL;
	*bit = methods[i].bit;
	return methods[i].name;
}

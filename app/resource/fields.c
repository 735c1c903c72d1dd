/*
 * Reading stored objects back: parsing what PostgreSQL returns, and
 * _fields, which keeps id, last_modified (and deleted) plus the requested fields
 * of an object, nested fields through dotted names. Works on a parsed copy;
 * never changes what is stored.
 */
#include <string.h>

#include "core/json.h"
#include "query/query.h"
#include "resource/resource.h"

/* Copies src's value at the dotted name into dst, creating the intermediate objects. */
static void copy_path(json_object *dst, json_object *src, const char *name)
{
	char part[256];
	const char *p = name;

	for (;;) {
		size_t len = strcspn(p, ".");
		json_object *next_src, *next_dst;

		if (len == 0 || len >= sizeof(part))
			return;
		memcpy(part, p, len);
		part[len] = '\0';
		if (!json_object_is_type(src, json_type_object) ||
		    !json_object_object_get_ex(src, part, &next_src))
			return;
		if (p[len] == '\0') {
			json_object_object_add(dst, part, json_object_get(next_src));
			return;
		}
		if (!json_object_object_get_ex(dst, part, &next_dst)) {
			next_dst = json_object_new_object();
			json_object_object_add(dst, part, next_dst);
		}
		if (!json_object_is_type(next_dst, json_type_object))
			return;
		dst = next_dst;
		src = next_src;
		p += len + 1;
	}
}

enum pawl_err pawl_resource_project(struct pawl_arena *arena, const char *what, const char *data,
    const struct pawl_query *q, const char **out, struct pawl_error *err)
{
	static const char *const always[] = { "id", "last_modified", "deleted" };
	json_object *src, *dst;
	size_t i, len;
	enum pawl_err rc;

	*out = NULL;
	if ((rc = pawl_resource_parse_stored(arena, what, data, &src, err)) != PAWL_OK)
		return rc;
	if ((dst = pawl_json_own(arena, json_object_new_object())) == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		copy_path(dst, src, always[i]);
	for (i = 0; i < q->n_fields; i++)
		copy_path(dst, src, q->fields[i]);
	if ((*out = pawl_json_compact(arena, dst, &len)) == NULL)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

enum pawl_err pawl_resource_parse_stored(struct pawl_arena *arena, const char *what,
    const char *data, json_object **out, struct pawl_error *err)
{
	struct pawl_error why;

	if (pawl_json_parse(arena, data, strlen(data), PAWL_JSON_STORED_DEPTH, out, &why) == PAWL_OK)
		return PAWL_OK;
	if (why.code == PAWL_ERR_NOMEM)
		return pawl_error_nomem(err);
	return pawl_error_set(err, PAWL_ERR_INTERNAL, "stored object does not parse: %s: %s%s%s",
	    what, why.name[0] ? why.name : "", why.name[0] ? ": " : "", why.message);
}

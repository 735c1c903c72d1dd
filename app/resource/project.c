/*
 * _fields: keeps id, last_modified (and deleted) plus the requested fields
 * of an object, nested fields through dotted names. Works on a parsed copy;
 * never changes what is stored.
 */
#include <string.h>

#include "pawl/json.h"
#include "pawl/resource.h"

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

const char *pawl_resource_project(struct pawl_arena *arena, const char *data,
    const char *const *fields, size_t n_fields)
{
	static const char *const always[] = { "id", "last_modified", "deleted" };
	struct pawl_error err;
	json_object *src, *dst;
	size_t i, len;

	if (pawl_json_parse(arena, data, strlen(data), 1000, &src, &err) != PAWL_OK)
		return data;
	dst = pawl_json_own(arena, json_object_new_object());
	if (dst == NULL)
		return data;
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		copy_path(dst, src, always[i]);
	for (i = 0; i < n_fields; i++)
		copy_path(dst, src, fields[i]);
	return pawl_json_compact(arena, dst, &len);
}

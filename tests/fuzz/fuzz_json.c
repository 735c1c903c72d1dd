/*
 * libFuzzer target: untrusted request bodies through pawl_json_parse, and
 * what parses back through the compact serialiser. One arena, reset per input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pawl_arena *arena;
	struct pawl_error err;
	json_object *obj = NULL;
	size_t len;

	if (arena == NULL && (arena = pawl_arena_new(65536)) == NULL)
		abort();
	if (pawl_json_parse(arena, (const char *)data, size, 64, &obj, &err) == PAWL_OK && obj != NULL)
		if (pawl_json_compact(arena, obj, &len) == NULL)
			abort();
	pawl_arena_reset(arena);
	return 0;
}

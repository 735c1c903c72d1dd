/*
 * libFuzzer target: "<document>\0<patch>" (or just a patch, applied to a
 * fixed document) parsed as JSON, then RFC 6902, RFC 7396 and the shallow
 * merge. One arena, reset after every input; no tree may leak or cycle.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_patch.h"

#define DEPTH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char default_doc[] =
    "{\"data\":{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{\"e\":\"f\"}},"
    "\"permissions\":{\"read\":{},\"write\":{\"account:x\":\"account:x\"}}}";

static struct pawl_arena *arena;

static json_object *parse(const char *text, size_t len)
{
	json_object *v = NULL;
	struct pawl_error err;

	if (pawl_json_parse(arena, text, len, DEPTH, &v, &err) != PAWL_OK)
		return NULL;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *doc_text = default_doc;
	const char *nul = memchr(data, '\0', size);
	size_t doc_len = sizeof(default_doc) - 1;
	json_object *doc, *patch, *target;
	struct pawl_error err;

	if (arena == NULL && (arena = pawl_arena_new(16384)) == NULL)
		abort();
	if (nul != NULL) {
		doc_text = text;
		doc_len = (size_t)(nul - text);
		size -= doc_len + 1;
		text = nul + 1;
	}
	patch = parse(text, size);
	if ((doc = parse(doc_text, doc_len)) != NULL)
		(void)pawl_patch_json(doc, patch, &err);
	if ((target = parse(doc_text, doc_len)) != NULL || doc_len > 0) {
		(void)pawl_patch_merge(target, patch);
		pawl_patch_shallow(target, patch);
	}
	pawl_arena_reset(arena);
	return 0;
}

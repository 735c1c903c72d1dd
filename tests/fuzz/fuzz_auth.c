/*
 * libFuzzer target: arbitrary Authorization header values into the Basic
 * auth identity. A result must be "basicauth:" + 64 lower-case hex digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pawl_arena *arena;
	static struct pawl_hmac_key *key;
	char *header;
	const char *uid;

	if (arena == NULL && (arena = pawl_arena_new(65536)) == NULL)
		abort();
	if (key == NULL && (key = pawl_hmac_key_new("secret")) == NULL)
		abort();
	header = pawl_arena_strndup(arena, (const char *)data, size);
	uid = pawl_auth_basic_userid(arena, key, header);
	if (uid != NULL && (strlen(uid) != 74 || strncmp(uid, "basicauth:", 10) != 0 ||
	    strspn(uid + 10, "0123456789abcdef") != 64))
		abort();
	pawl_arena_reset(arena);
	return 0;
}

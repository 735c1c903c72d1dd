/*
 * libFuzzer target: raw bytes as a _token into pawl_token_decode. Inputs
 * starting with '{' are signed here first, so the JSON shape checks behind
 * the signature get fuzzed too. One arena, reset after every input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "query/query.h"
#include "core/str.h"

#define KEY "fuzz-key"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pawl_arena *arena;

static void b64url(struct pawl_buf *b, const unsigned char *p, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v;
	size_t i, k;

	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (unsigned)p[i] << 16 | (k > 1 ? (unsigned)p[i + 1] << 8 : 0) |
		    (k > 2 ? p[i + 2] : 0);
		pawl_buf_putc(b, abc[v >> 18 & 63]);
		pawl_buf_putc(b, abc[v >> 12 & 63]);
		if (k > 1)
			pawl_buf_putc(b, abc[v >> 6 & 63]);
		if (k > 2)
			pawl_buf_putc(b, abc[v & 63]);
	}
}

/* Wraps JSON bytes the way pawl_token_encode does, with a valid signature. */
static const char *sign(const uint8_t *data, size_t size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	b64url(&b, data, size);
	if (b.failed || b.data == NULL)
		return NULL;
	/* Signed with the empty scope: "\n" then the payload. */
	{
		struct pawl_buf m;

		pawl_buf_init(&m, arena);
		pawl_buf_putc(&m, '\n');
		pawl_buf_append(&m, b.data, b.len);
		if (m.failed || m.data == NULL)
			return NULL;
		HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (const unsigned char *)m.data, m.len, mac,
		    &mac_len);
	}
	pawl_buf_putc(&b, '.');
	b64url(&b, mac, 16);
	return b.failed ? NULL : b.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pawl_query q;
	struct pawl_token t;
	struct pawl_error err;
	const char *token;

	if (arena == NULL && (arena = pawl_arena_new(16384)) == NULL)
		abort();
	if (pawl_query_parse(arena, "a=1&_sort=-b", 0, &q, &err) != PAWL_OK)
		abort();
	if (size > 0 && data[0] == '{')
		token = sign(data, size);
	else
		token = pawl_arena_strndup(arena, (const char *)data, size);
	if (token != NULL && pawl_token_decode(arena, &(struct pawl_token_signer){ KEY, "" }, &q,
	    token, &t, &err) == PAWL_OK &&
	    (t.offset < 0 || !json_object_is_type(t.last, json_type_object)))
		abort();
	pawl_arena_reset(arena);
	return 0;
}

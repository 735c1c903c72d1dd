/*
 * Basic-auth identity as Kinto computes it: decode the credentials, then
 * "basicauth:" + hex HMAC-SHA256(secret, "user:password"). Pure: no I/O.
 * Must never log, keep or return the password; any doubt means anonymous.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"
#include "core/crypto.h"
#include "core/str.h"

/* Longer Authorization headers are treated as anonymous without decoding. */
#define AUTH_HEADER_MAX 8192u

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '+' || c == '/';
}

/*
 * Finds the base64 token of a "Basic <token>" value, surrounding spaces and
 * tabs trimmed. Returns false for another scheme or an over-long header.
 */
static bool basic_token(const char *h, const char **tok, size_t *toklen)
{
	size_t len = 0, start, end;

	while (h[len] != '\0' && len <= AUTH_HEADER_MAX)
		len++;
	if (len > AUTH_HEADER_MAX)
		return false;
	for (start = 0; start < len && is_space(h[start]); start++)
		;
	if (!pawl_str_iprefix(h + start, "basic") || h[start + 5] != ' ')
		return false;
	for (start += 5; start < len && is_space(h[start]); start++)
		;
	for (end = len; end > start && is_space(h[end - 1]); end--)
		;
	*tok = h + start;
	*toklen = end - start;
	return true;
}

/*
 * Strict base64 (RFC 4648 alphabet, length a multiple of 4, '=' only as the
 * last one or two characters) into the arena. The decoder accepts '='
 * anywhere and counts padding as output, hence the checks around it.
 */
static unsigned char *b64_decode(struct pawl_arena *arena, const char *in, size_t len,
    size_t *out_len)
{
	unsigned char *out;
	size_t pad = 0, i;
	long n;

	if (len % 4 != 0)
		return NULL;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!is_b64(in[i]))
			return NULL;
	out = pawl_arena_alloc(arena, len / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	n = pawl_base64_decode_block(out, in, len);
	if (n < 0 || (size_t)n != len / 4 * 3) {
		pawl_secure_zero(out, len / 4 * 3 + 1);
		return NULL;
	}
	*out_len = (size_t)n - pad;
	out[*out_len] = '\0';
	return out;
}

/*
 * Python decodes the credentials as UTF-8 and falls back to Latin-1, then
 * HMACs the UTF-8 encoding: re-encode non-UTF-8 bytes the same way.
 */
static char *as_utf8(struct pawl_arena *arena, unsigned char *s, size_t len,
    size_t *out_len)
{
	unsigned char *out;
	size_t i, o = 0;

	if (pawl_str_utf8_valid((const char *)s, len)) {
		*out_len = len;
		return (char *)s;
	}
	out = pawl_arena_alloc(arena, 2 * len + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x80) {
			out[o++] = s[i];
		} else {
			out[o++] = (unsigned char)(0xc0 | s[i] >> 6);
			out[o++] = (unsigned char)(0x80 | (s[i] & 0x3f));
		}
	}
	out[o] = '\0';
	*out_len = o;
	return (char *)out;
}

const char *pawl_auth_basic_userid(struct pawl_arena *arena, struct pawl_hmac_key *key,
    const char *authorization)
{
	const char *tok, *result = NULL;
	unsigned char *raw = NULL;
	char *msg = NULL, hex[65];
	size_t toklen, rawlen = 0, msglen = 0;
	const unsigned char *colon;

	if (authorization == NULL || key == NULL ||
	    !basic_token(authorization, &tok, &toklen))
		return NULL;
	raw = b64_decode(arena, tok, toklen, &rawlen);
	if (raw == NULL || memchr(raw, '\0', rawlen) != NULL)
		goto out;
	colon = memchr(raw, ':', rawlen);
	if (colon == NULL || colon == raw)
		goto out; /* no password separator, or an empty user name */
	msg = as_utf8(arena, raw, rawlen, &msglen);
	if (msg == NULL)
		goto out;
	pawl_hmac_key_hex(key, msg, msglen, hex);
	if (hex[0] != '\0')
		result = pawl_arena_printf(arena, "basicauth:%s", hex);
out:
	/* The password must not linger in the arena until the next reset. */
	if (msg != NULL && msg != (char *)raw)
		pawl_secure_zero(msg, msglen);
	if (raw != NULL)
		pawl_secure_zero(raw, toklen / 4 * 3); /* padding bytes too */
	return result;
}

char *pawl_auth_basic_decode(struct pawl_arena *arena, const char *authorization, size_t *len,
    size_t *user_len)
{
	const char *tok;
	unsigned char *raw;
	const unsigned char *colon;
	char *msg = NULL;
	size_t toklen, rawlen = 0;

	*len = *user_len = 0;
	if (authorization == NULL || !basic_token(authorization, &tok, &toklen))
		return NULL;
	raw = b64_decode(arena, tok, toklen, &rawlen);
	if (raw == NULL)
		return NULL;
	colon = memchr(raw, ':', rawlen);
	/* The same refusals as pawl_auth_basic_userid: NUL bytes, no ':', no user name. */
	if (memchr(raw, '\0', rawlen) == NULL && colon != NULL && colon != raw &&
	    (msg = as_utf8(arena, raw, rawlen, len)) != NULL)
		*user_len = (size_t)(memchr(msg, ':', *len) ? (char *)memchr(msg, ':', *len) - msg : 0);
	if (msg != (char *)raw)
		pawl_secure_zero(raw, toklen / 4 * 3);
	return msg;
}

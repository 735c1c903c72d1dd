/*
 * Who is asking (SPEC §5): the Basic-auth identity, computed as Kinto does
 * (protocol-notes §3.13). Pure: no I/O, so tests and fuzzers feed it headers.
 */
#ifndef PAWL_AUTH_H
#define PAWL_AUTH_H

#include "pawl/arena.h"

/*
 * Computes the prefixed user id for an Authorization header value:
 * "basicauth:" + lower-case hex HMAC-SHA256(key = secret, msg = "user:password").
 * Returns NULL (anonymous) for a NULL, non-Basic or malformed header, bad
 * base64, no ':' or an empty user name. The string lives in the arena.
 */
const char *pawl_auth_basic_userid(struct pawl_arena *arena, const char *secret,
    const char *authorization);

/* Lower-case hex HMAC-SHA256 of msg keyed by key, into out[65]. */
void pawl_auth_hmac_hex(const char *key, const char *msg, size_t msg_len, char out[65]);

#endif

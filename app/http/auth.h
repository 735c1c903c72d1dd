/*
 * Who is asking (docs/protocol.md §5): the Basic-auth identity, computed as Kinto
 * does. Pure: no I/O, so tests and fuzzers feed it headers.
 */
#ifndef PAWL_AUTH_H
#define PAWL_AUTH_H

#include "core/arena.h"
#include "core/crypto.h"

/*
 * Computes the prefixed user id for an Authorization header value:
 * "basicauth:" + lower-case hex HMAC-SHA256(key = secret, msg = "user:password").
 * key is the worker's, made once from userid_hmac_secret (core/crypto.h).
 * Returns NULL (anonymous) for a NULL key, a NULL, non-Basic or malformed
 * header, bad base64, no ':' or an empty user name. The string lives in the arena.
 */
const char *pawl_auth_basic_userid(struct pawl_arena *arena, struct pawl_hmac_key *key,
    const char *authorization);

/*
 * Decodes a Basic Authorization value into "user:password" in the arena,
 * UTF-8 as pawl_auth_basic_userid reads it: *len bytes, the user name being
 * the first *user_len. NULL for what pawl_auth_basic_userid calls anonymous.
 * The caller must pawl_secure_zero the *len bytes when done (a password).
 */
char *pawl_auth_basic_decode(struct pawl_arena *arena, const char *authorization, size_t *len,
    size_t *user_len);

#endif

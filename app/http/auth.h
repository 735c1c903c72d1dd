/*
 * Who is asking (docs/protocol.md §5): the Basic-auth identity, computed as Kinto
 * does. Pure: no I/O, so tests and fuzzers feed it headers.
 */
#ifndef PAWL_AUTH_H
#define PAWL_AUTH_H

#include "core/arena.h"

/*
 * An HMAC-SHA256 key, set up once (a worker keeps one for the whole process:
 * OpenSSL's per-call setup costs more than the hash). Not for concurrent use.
 * NULL for a NULL secret or when OpenSSL fails. _free accepts NULL.
 */
struct pawl_auth_key;
struct pawl_auth_key *pawl_auth_key_new(const char *secret);
void pawl_auth_key_free(struct pawl_auth_key *k);

/* Lower-case hex HMAC-SHA256 of msg under k, into out[65] ("" on failure or a NULL k). */
void pawl_auth_key_hex(struct pawl_auth_key *k, const char *msg, size_t msg_len, char out[65]);

/*
 * Computes the prefixed user id for an Authorization header value:
 * "basicauth:" + lower-case hex HMAC-SHA256(key = secret, msg = "user:password").
 * Returns NULL (anonymous) for a NULL key, a NULL, non-Basic or malformed
 * header, bad base64, no ':' or an empty user name. The string lives in the arena.
 */
const char *pawl_auth_basic_userid(struct pawl_arena *arena, struct pawl_auth_key *key,
    const char *authorization);

/*
 * Decodes a Basic Authorization value into "user:password" in the arena,
 * UTF-8 as pawl_auth_basic_userid reads it: *len bytes, the user name being
 * the first *user_len. NULL for what pawl_auth_basic_userid calls anonymous.
 * The caller must OPENSSL_cleanse the *len bytes when done (a password).
 */
char *pawl_auth_basic_decode(struct pawl_arena *arena, const char *authorization, size_t *len,
    size_t *user_len);

/* Lower-case hex HMAC-SHA256 of msg keyed by key, into out[65]. */
void pawl_auth_hmac_hex(const char *key, const char *msg, size_t msg_len, char out[65]);

#endif

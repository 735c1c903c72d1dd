/*
 * Randomness, ids, MACs and digests: the one file that speaks to OpenSSL's
 * libcrypto and to libuuid (docs/ARCHITECTURE.md, "Foreign libraries").
 * Pure: no I/O beyond the kernel's random source.
 */
#ifndef PAWL_CORE_CRYPTO_H
#define PAWL_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define PAWL_SHA256_LEN 32
#define PAWL_UUID_LEN 36

/* n bytes from a cryptographically secure generator; false when it has none. */
bool pawl_random_bytes(unsigned char *buf, size_t n);

/* Lower-case hex of in[0..n) into out, which holds 2n + 1 bytes (NUL-terminated). */
void pawl_hex_encode(char *out, const unsigned char *in, size_t n);

/* A random (version 4) UUID, lower case, into out (PAWL_UUID_LEN + 1 bytes). */
void pawl_uuid4(char *out);

/*
 * HMAC-SHA256 under one secret, keyed once: OpenSSL 3 looks the algorithm
 * up and builds a context on every one-shot HMAC() call, a visible share of
 * a cached GET, while a key handle only re-initialises its context per
 * message. Not shared between threads.
 */
struct pawl_hmac_key;
struct pawl_hmac_key *pawl_hmac_key_new(const char *secret);
void pawl_hmac_key_free(struct pawl_hmac_key *k);

/* HMAC-SHA256(k, msg[0..len)) into out; false on failure (out untouched). */
bool pawl_hmac_key_sign(struct pawl_hmac_key *k, const void *msg, size_t len,
    unsigned char out[PAWL_SHA256_LEN]);

/* The same in hex (64 digits + NUL); out is "" on failure. */
void pawl_hmac_key_hex(struct pawl_hmac_key *k, const void *msg, size_t len, char out[65]);

/* One-shot HMAC-SHA256 under secret (NULL: ""), for rare uses. */
bool pawl_hmac_sha256(const char *secret, const void *msg, size_t len,
    unsigned char out[PAWL_SHA256_LEN]);
void pawl_hmac_hex(const char *secret, const void *msg, size_t len, char out[65]);

/* SHA-256 of msg[0..len). */
bool pawl_sha256(const void *msg, size_t len, unsigned char out[PAWL_SHA256_LEN]);

/*
 * Decodes len characters of standard base64 (len a multiple of 4) into out
 * (len / 4 * 3 bytes); returns that count, padding counted, or -1. Lenient
 * about '=' placement: callers check the alphabet and padding first.
 */
long pawl_base64_decode_block(unsigned char *out, const char *in, size_t len);

/* a and b equal over n bytes, in time that does not depend on where they differ. */
bool pawl_secure_equal(const void *a, const void *b, size_t n);

/* Zeroes n bytes in a way the compiler may not optimise out (secrets, passwords). */
void pawl_secure_zero(void *p, size_t n);

#endif

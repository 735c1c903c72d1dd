/*
 * OpenSSL's libcrypto (RAND, EVP MAC and digest, base64, CRYPTO_memcmp,
 * OPENSSL_cleanse) and libuuid, behind core/crypto.h.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <uuid/uuid.h>

#include "core/crypto.h"

bool pawl_random_bytes(unsigned char *buf, size_t n)
{
	return n <= INT_MAX && RAND_bytes(buf, (int)n) == 1;
}

void pawl_hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void pawl_uuid4(char *out)
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

struct pawl_hmac_key {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

void pawl_hmac_key_free(struct pawl_hmac_key *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->ctx);
	EVP_MAC_free(k->mac);
	free(k);
}

struct pawl_hmac_key *pawl_hmac_key_new(const char *secret)
{
	char sha256[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
		OSSL_PARAM_construct_end(),
	};
	struct pawl_hmac_key *k = calloc(1, sizeof(*k));

	if (k == NULL || secret == NULL || (k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (k->ctx = EVP_MAC_CTX_new(k->mac)) == NULL ||
	    EVP_MAC_init(k->ctx, (const unsigned char *)secret, strlen(secret), params) != 1) {
		pawl_hmac_key_free(k);
		return NULL;
	}
	return k;
}

bool pawl_hmac_key_sign(struct pawl_hmac_key *k, const void *msg, size_t len,
    unsigned char out[PAWL_SHA256_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t md_len = 0;
	bool ok;

	/* A NULL key re-uses the one given at creation. */
	ok = k != NULL && EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1 &&
	    EVP_MAC_update(k->ctx, (const unsigned char *)(msg != NULL ? msg : ""), len) == 1 &&
	    EVP_MAC_final(k->ctx, md, &md_len, sizeof(md)) == 1 && md_len == PAWL_SHA256_LEN;
	if (ok)
		memcpy(out, md, PAWL_SHA256_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}

void pawl_hmac_key_hex(struct pawl_hmac_key *k, const void *msg, size_t len, char out[65])
{
	unsigned char md[PAWL_SHA256_LEN];

	out[0] = '\0';
	if (pawl_hmac_key_sign(k, msg, len, md))
		pawl_hex_encode(out, md, sizeof(md));
	OPENSSL_cleanse(md, sizeof(md));
}

bool pawl_hmac_sha256(const char *secret, const void *msg, size_t len,
    unsigned char out[PAWL_SHA256_LEN])
{
	struct pawl_hmac_key *k = pawl_hmac_key_new(secret != NULL ? secret : "");
	bool ok = pawl_hmac_key_sign(k, msg, len, out);

	pawl_hmac_key_free(k);
	return ok;
}

void pawl_hmac_hex(const char *secret, const void *msg, size_t len, char out[65])
{
	struct pawl_hmac_key *k = pawl_hmac_key_new(secret != NULL ? secret : "");

	pawl_hmac_key_hex(k, msg, len, out);
	pawl_hmac_key_free(k);
}

bool pawl_sha256(const void *msg, size_t len, unsigned char out[PAWL_SHA256_LEN])
{
	unsigned int md_len = 0;

	return EVP_Digest(msg, len, out, &md_len, EVP_sha256(), NULL) == 1 &&
	    md_len == PAWL_SHA256_LEN;
}

long pawl_base64_decode_block(unsigned char *out, const char *in, size_t len)
{
	int n;

	if (len % 4 != 0 || len > INT_MAX)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	return n < 0 ? -1 : (long)n;
}

bool pawl_secure_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void pawl_secure_zero(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

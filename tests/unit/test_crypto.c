/*
 * Unit tests for app/core/crypto.c against published answers: SHA-256 of
 * "abc" (FIPS 180-2, appendix B.1), HMAC-SHA256 test case 2 of RFC 4231,
 * base64 of RFC 4648 section 10, and the shape of a version 4 UUID (RFC 4122
 * section 4.4).
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/crypto.h"
#include "unit.h"

static void test_sha256_known_answer(void)
{
	unsigned char md[PAWL_SHA256_LEN];
	char hex[2 * PAWL_SHA256_LEN + 1];

	CU_ASSERT_FATAL(pawl_sha256("abc", 3, md));
	pawl_hex_encode(hex, md, sizeof(md));
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CU_ASSERT_FATAL(pawl_sha256("", 0, md));
	pawl_hex_encode(hex, md, sizeof(md));
	CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hmac_rfc4231(void)
{
	static const char want[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	static const char data[] = "what do ya want for nothing?";
	unsigned char mac[PAWL_SHA256_LEN], again[PAWL_SHA256_LEN];
	struct pawl_hmac_key *k = pawl_hmac_key_new("Jefe");
	char hex[65];

	CU_ASSERT_FATAL(pawl_hmac_sha256("Jefe", data, strlen(data), mac));
	pawl_hex_encode(hex, mac, sizeof(mac));
	CU_ASSERT_STRING_EQUAL(hex, want);
	/* The key handle gives the same answer, message after message. */
	CU_ASSERT_FATAL(k != NULL);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT(pawl_hmac_key_sign(k, data, strlen(data), again));
		CU_ASSERT(memcmp(mac, again, sizeof(mac)) == 0);
	}
	pawl_hmac_hex("Jefe", data, strlen(data), hex);
	CU_ASSERT_STRING_EQUAL(hex, want);
	/* NULL: the empty secret, not a crash; a NULL handle fails cleanly. */
	CU_ASSERT(pawl_hmac_sha256(NULL, data, strlen(data), mac));
	CU_ASSERT_FALSE(pawl_hmac_key_sign(NULL, data, strlen(data), again));
	pawl_hmac_key_free(k);
	pawl_hmac_key_free(NULL);
}

static void test_hex_and_equal(void)
{
	static const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[2 * sizeof(in) + 1];

	pawl_hex_encode(out, in, sizeof(in));
	CU_ASSERT_STRING_EQUAL(out, "000fa5ff");
	pawl_hex_encode(out, in, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT(pawl_secure_equal("abcd", "abcd", 4));
	CU_ASSERT_FALSE(pawl_secure_equal("abcd", "abce", 4));
	CU_ASSERT(pawl_secure_equal("abcd", "abce", 3));
}

static void test_base64_block(void)
{
	unsigned char out[16];

	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(pawl_base64_decode_block(out, "Zm9vYmFy", 8), 6);
	CU_ASSERT(memcmp(out, "foobar", 6) == 0);
	/* Padding counts as output: the caller takes it off. */
	CU_ASSERT_EQUAL(pawl_base64_decode_block(out, "Zm8=", 4), 3);
	CU_ASSERT(memcmp(out, "fo", 2) == 0);
	CU_ASSERT_EQUAL(pawl_base64_decode_block(out, "Zm9", 3), -1);
	CU_ASSERT_EQUAL(pawl_base64_decode_block(out, "Z!9v", 4), -1);
}

static void test_random_and_uuid(void)
{
	unsigned char a[16], b[16];
	char u[PAWL_UUID_LEN + 1], v[PAWL_UUID_LEN + 1];

	CU_ASSERT_FATAL(pawl_random_bytes(a, sizeof(a)) && pawl_random_bytes(b, sizeof(b)));
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0); /* 2^-128 to fail by chance */
	pawl_uuid4(u);
	pawl_uuid4(v);
	CU_ASSERT_EQUAL(strlen(u), PAWL_UUID_LEN);
	CU_ASSERT(strcmp(u, v) != 0);
	for (size_t i = 0; i < PAWL_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		CU_ASSERT(dash ? u[i] == '-' :
			  isxdigit((unsigned char)u[i]) && !isupper((unsigned char)u[i]));
	}
	CU_ASSERT_EQUAL(u[14], '4');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", u[19]));
}

void test_crypto_register(void)
{
	CU_pSuite s = CU_add_suite("crypto", NULL, NULL);

	CU_add_test(s, "SHA-256 known answers", test_sha256_known_answer);
	CU_add_test(s, "HMAC-SHA256: RFC 4231 case 2, key handle and one-shot", test_hmac_rfc4231);
	CU_add_test(s, "hex and constant-time equality", test_hex_and_equal);
	CU_add_test(s, "base64 blocks (RFC 4648)", test_base64_block);
	CU_add_test(s, "random bytes and version 4 UUIDs", test_random_and_uuid);
}

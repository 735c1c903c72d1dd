/*
 * CIDR blocks for trusted_proxies. inet_pton does the address syntax (it
 * refuses leading zeros in IPv4, zone ids and anything loose), we do the
 * prefix. IPv4 becomes ::ffff:a.b.c.d so that one comparison covers both
 * families and an IPv4-mapped peer address matches its IPv4 block.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/cidr.h"

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The 16-byte form of an address text; *v4 tells an IPv4 text. */
static bool parse_addr(const char *text, unsigned char out[16], bool *v4)
{
	unsigned char a4[4];

	if (inet_pton(AF_INET, text, a4) == 1) {
		memcpy(out, v4_mapped, 12);
		memcpy(out + 12, a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, text, out) == 1;
}

/* True when a and b agree on their first bits bits. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool pawl_cidr_parse(const char *text, struct pawl_cidr *out)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len;
	bool v4;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (!parse_addr(buf, out->addr, &v4))
		return false;
	len = v4 ? 32 : 128;
	if (slash != NULL) {
		const char *d = slash + 1;

		/* 1 to 3 digits, no sign, no leading zero: "/08" is refused. */
		if (strspn(d, "0123456789") != strlen(d) || *d == '\0' || strlen(d) > 3 ||
		    (d[0] == '0' && d[1] != '\0'))
			return false;
		for (len = 0; *d != '\0'; d++)
			len = len * 10 + (unsigned long)(*d - '0');
		if (len > (v4 ? 32u : 128u))
			return false;
	}
	out->bits = (unsigned)len + (v4 ? 96 : 0);
	/* Host bits must be zero: compare with the block's own start. */
	{
		unsigned char start[16];
		unsigned i;

		memcpy(start, out->addr, 16);
		for (i = out->bits; i < 128; i++)
			start[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
		if (memcmp(start, out->addr, 16) != 0)
			return false;
	}
	return true;
}

bool pawl_cidr_match(const struct pawl_cidr *blocks, size_t n, const char *addr)
{
	unsigned char a[16];
	bool v4;
	size_t i;

	if (addr == NULL || n == 0 || !parse_addr(addr, a, &v4))
		return false;
	for (i = 0; i < n; i++)
		if (prefix_equal(a, blocks[i].addr, blocks[i].bits))
			return true;
	return false;
}

/*
 * IPv4 and IPv6 address blocks (CIDR, RFC 4632 and RFC 4291 §2.3) for the
 * trusted_proxies setting. Pure: parsing and matching only, no I/O.
 */
#ifndef PAWL_CIDR_H
#define PAWL_CIDR_H

#include <stdbool.h>
#include <stddef.h>

/* One block; IPv4 is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d). */
struct pawl_cidr {
	unsigned char addr[16]; /* host bits cleared */
	unsigned bits;          /* prefix length, 0..128 */
};

/*
 * Parses "addr" or "addr/len" (IPv4 dotted quad or IPv6 text). Host bits set
 * beyond the prefix are refused ("10.0.0.1/8" is a typo more often than not).
 * Returns false on anything else.
 */
bool pawl_cidr_parse(const char *text, struct pawl_cidr *out);

/* True when the address text (as nginx's $remote_addr) falls in one of the n blocks. */
bool pawl_cidr_match(const struct pawl_cidr *blocks, size_t n, const char *addr);

#endif

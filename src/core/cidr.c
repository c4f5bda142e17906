/*
 * cidr: parses and matches IPv4/IPv6 networks for listener allow lists,
 * relay.trusted_networks and the access lists. Addresses are numeric only
 * (inet_pton: no DNS, no octal or short IPv4 forms). An IPv4-mapped IPv6
 * client (::ffff:a.b.c.d, RFC 4291 2.5.5.2) is treated as the IPv4 client it
 * is, so a dual-stack socket cannot slip past an IPv4 rule.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is the longest text. */
#define CIDR_ADDR_TEXT_MAX	INET6_ADDRSTRLEN

static const uint8_t cidr_v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Parses 1..3 decimal digits; no sign, no blanks, so "+8" or " 8" fail. */
static int
cidr_prefix_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 3 || s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* True when any bit past prefix is set in addr (len bytes). */
static bool
cidr_host_bits_set(const uint8_t *addr, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t mask;

		if (first + 8 <= prefix)
			continue;
		mask = first >= prefix ? 0xff : (uint8_t)(0xff >> (prefix - first));
		if (addr[i] & mask)
			return true;
	}
	return false;
}

static void
cidr_host_bits_clear(uint8_t *addr, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;

		if (first + 8 <= prefix)
			continue;
		if (first >= prefix)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff << (8 - (prefix - first)));
	}
}

int
cidr_parse(const char *s, bool lenient, struct cidr *out)
{
	char addr[CIDR_ADDR_TEXT_MAX];
	const char *slash;
	size_t alen, blen;
	struct cidr c;

	if (s == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, c.addr) == 1) {
		c.family = AF_INET;
		blen = 4;
	} else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
		c.family = AF_INET6;
		blen = 16;
	} else
		return -1;
	/* A bare address is a host route. */
	c.prefix = (unsigned)blen * 8;
	if (slash != NULL && cidr_prefix_parse(slash + 1, (unsigned)blen * 8,
	    &c.prefix) == -1)
		return -1;
	if (cidr_host_bits_set(c.addr, blen, c.prefix)) {
		/* "10.1.2.3/8" is usually a typo for a host or a /24: say so
		 * unless the caller asked for the network part. */
		if (!lenient)
			return -1;
		cidr_host_bits_clear(c.addr, blen, c.prefix);
	}
	*out = c;
	return 0;
}

void
cidr_format(const struct cidr *c, char *out, size_t outlen)
{
	char addr[CIDR_ADDR_TEXT_MAX];

	if (outlen == 0)
		return;
	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    inet_ntop(c->family, c->addr, addr, sizeof(addr)) == NULL) {
		snprintf(out, outlen, "invalid");
		return;
	}
	snprintf(out, outlen, "%s/%u", addr, c->prefix);
}

/*
 * Reduces a client address to (family, bytes); a mapped IPv6 address
 * becomes IPv4. Returns the byte count, or 0 for anything else.
 */
static size_t
cidr_sockaddr_bytes(const struct sockaddr *sa, int *family_out, uint8_t out[16])
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(out, &sin->sin_addr, 4);
		*family_out = AF_INET;
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = sin6->sin6_addr.s6_addr;

		if (memcmp(b, cidr_v4mapped_prefix, 12) == 0) {
			memcpy(out, b + 12, 4);
			*family_out = AF_INET;
			return 4;
		}
		memcpy(out, b, 16);
		*family_out = AF_INET6;
		return 16;
	}
	return 0;
}

bool
cidr_bytes_match(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	uint8_t addr[16], mapped[16];
	int family = 0;
	size_t n = cidr_sockaddr_bytes(sa, &family, addr);

	if (n == 0 || c == NULL)
		return false;
	if (c->family == AF_INET)
		return family == AF_INET && c->prefix <= 32 &&
		    cidr_bytes_match(c->addr, addr, c->prefix);
	if (c->family != AF_INET6 || c->prefix > 128)
		return false;
	if (family == AF_INET6)
		return cidr_bytes_match(c->addr, addr, c->prefix);
	/* An IPv4 client against an IPv6 network: only a network written in
	 * mapped form ("::ffff:10.0.0.0/104") covers it; "::/0" means every
	 * IPv6 client, not every client. */
	if (c->prefix < 96 || memcmp(c->addr, cidr_v4mapped_prefix, 12) != 0)
		return false;
	memcpy(mapped, cidr_v4mapped_prefix, 12);
	memcpy(mapped + 12, addr, 4);
	return cidr_bytes_match(c->addr, mapped, c->prefix);
}

bool
cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
	if (l == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], sa))
			return true;
	return false;
}

void
cidr_list_free(struct cidr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
sockaddr_ip_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	uint8_t addr[16];
	int family = 0;

	if (outlen == 0)
		return;
	if (cidr_sockaddr_bytes(sa, &family, addr) == 0 ||
	    inet_ntop(family, addr, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "unknown");
}

bool
sockaddr_ip_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return a->ss_family == AF_INET6 &&
	    memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

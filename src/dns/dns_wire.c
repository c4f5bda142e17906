/*
 * dns_wire: RDATA decoders and the reverse-name builder; see dns_wire.h.
 * Every read is bounds-checked against the length unbound reported; we
 * trust nothing about the answer's contents (RFC 1035 3.1, 3.3, 3.5).
 */
#include "dns/dns_wire.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DNS_WIRE_LABEL_MAX	63	/* RFC 1035 2.3.4 */

static bool
dns_wire_label_byte_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
dns_wire_name(const uint8_t *p, size_t len, char *name_out, size_t *used_out)
{
	size_t pos = 0, out = 0, i;
	uint8_t n;

	for (;;) {
		if (pos >= len || pos >= DNS_NAME_WIRE_MAX)
			return -1;
		n = p[pos++];
		if (n == 0)
			break;
		/* 0xC0: a compression pointer; 0x40/0x80: RFC 6891 extended
		 * label types. Neither belongs in RDATA unbound has stored. */
		if (n > DNS_WIRE_LABEL_MAX)
			return -1;
		if (n > len - pos || pos + n >= DNS_NAME_WIRE_MAX)
			return -1;
		if (out > 0)
			name_out[out++] = '.';
		for (i = 0; i < n; i++) {
			if (!dns_wire_label_byte_ok(p[pos + i]))
				return -1;
			name_out[out++] = (char)p[pos + i];
		}
		pos += n;
	}
	/* pos <= 255 wire bytes give at most 253 text bytes: fits the buffer. */
	name_out[out] = '\0';
	*used_out = pos;
	return 0;
}

int
dns_wire_mx(const uint8_t *rd, size_t len, unsigned *pref_out, char *host_out)
{
	size_t used;

	if (len < 3)
		return -1;
	if (dns_wire_name(rd + 2, len - 2, host_out, &used) == -1 ||
	    used != len - 2)
		return -1;
	*pref_out = (unsigned)rd[0] << 8 | rd[1];
	return 0;
}

int
dns_wire_ptr(const uint8_t *rd, size_t len, char *name_out)
{
	size_t used;

	if (dns_wire_name(rd, len, name_out, &used) == -1 || used != len)
		return -1;
	return 0;
}

int
dns_wire_txt(const uint8_t *rd, size_t len, struct buf *out)
{
	size_t pos = 0, n;

	buf_reset(out);
	/* RFC 1035 3.3.14: one or more character-strings. */
	if (len == 0)
		return -1;
	while (pos < len) {
		n = rd[pos++];
		if (n > len - pos)
			return -1;
		if (memchr(rd + pos, '\0', n) != NULL)
			return -1;
		if (buf_append(out, rd + pos, n) == -1)
			return -1;
		pos += n;
	}
	/* buf_cstr() is "" when every string was empty. */
	return 0;
}

int
dns_wire_addr(const uint8_t *rd, size_t len, int family,
    struct sockaddr_storage *sa_out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa_out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa_out;

	memset(sa_out, 0, sizeof(*sa_out));
	if (family == AF_INET && len == sizeof(sin->sin_addr)) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, rd, len);
		return 0;
	}
	if (family == AF_INET6 && len == sizeof(sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, rd, len);
		return 0;
	}
	return -1;
}

int
dns_wire_ptr_name(const struct sockaddr *sa, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b;
	size_t pos = 0;
	int i, n;

	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa",
		    b[3], b[2], b[1], b[0]);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	b = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	/* 32 nibbles, lowest first, each followed by a dot, then "ip6.arpa". */
	if (outlen < 32 * 2 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		out[pos++] = hex[b[i] & 0xf];
		out[pos++] = '.';
		out[pos++] = hex[b[i] >> 4];
		out[pos++] = '.';
	}
	memcpy(out + pos, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

/*
 * dns_wire: pure decoders for the RDATA that libunbound hands back (domain
 * names, MX, TXT, PTR, A/AAAA) and the reverse-lookup name builder. No I/O,
 * no allocation except into a caller's buf, so they are unit-tested and
 * fuzzed alone (dns_wire_test.c, dns_wire_fuzz.c). RFC 1035 3.1, 3.3.9,
 * 3.3.14, 3.5; RFC 3596 2.5; RFC 7505 (null MX).
 */
#ifndef POSTERN_DNS_WIRE_H
#define POSTERN_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/limits.h"

/* A decoded name in text form: labels joined by '.', no trailing dot, the
 * root as "". The wire form is at most 255 bytes, so the text at most 253. */
#define DNS_NAME_TEXT_MAX	(DNS_NAME_WIRE_MAX - 2)
#define DNS_NAME_BUF		(DNS_NAME_TEXT_MAX + 1)

/*
 * Decodes the uncompressed wire-form name at the start of p[0..len) into
 * name_out (DNS_NAME_BUF bytes). *used_out gets the wire bytes taken.
 * Returns 0, or -1 when the name runs past len, is longer than 255 bytes,
 * has a label over 63 bytes, uses compression (libunbound stores RDATA
 * names uncompressed, so a pointer here is malformed) or an extended label
 * type, or has a byte outside letters, digits, '-' and '_' (a name we would
 * put in a log line or an SMTP command must not carry '.', spaces or
 * control bytes inside a label).
 */
int	dns_wire_name(const uint8_t *p, size_t len, char *name_out,
	    size_t *used_out);

/* MX RDATA: 16-bit preference, then exactly one name filling the rest.
 * A null MX (RFC 7505) decodes to pref 0 and host "". 0 or -1. */
int	dns_wire_mx(const uint8_t *rd, size_t len, unsigned *pref_out,
	    char *host_out);

/* PTR RDATA: exactly one name. 0 or -1. */
int	dns_wire_ptr(const uint8_t *rd, size_t len, char *name_out);

/*
 * TXT RDATA: one or more <length><bytes> strings, appended to out one after
 * the other with nothing between (RFC 7208 3.3). out should be initialised
 * with max DNS_TXT_MAX. Returns 0, or -1 when the RDATA is empty, a string
 * runs past len, a string holds a NUL byte (the caller keeps C strings), or
 * the joined text would pass out->max. out is reset first.
 */
int	dns_wire_txt(const uint8_t *rd, size_t len, struct buf *out);

/* A or AAAA RDATA (4 or 16 bytes for family AF_INET or AF_INET6) into a
 * sockaddr with port 0. 0 or -1 on a wrong length or family. */
int	dns_wire_addr(const uint8_t *rd, size_t len, int family,
	    struct sockaddr_storage *sa_out);

/* The in-addr.arpa (RFC 1035 3.5) or ip6.arpa (RFC 3596 2.5) name for sa,
 * without the trailing dot, into out (outlen >= 74 is always enough).
 * 0, or -1 for another family or a short buffer. */
int	dns_wire_ptr_name(const struct sockaddr *sa, char *out, size_t outlen);

#endif

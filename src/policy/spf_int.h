/*
 * spf_int: helpers shared by the SPF files (spf_record.c, spf_macro.c,
 * spf.c, spf_header.c) and not part of the interface in spf.h: macro-string
 * checks, domain-name checks and client address parsing. Pure; no I/O.
 */
#ifndef POSTERN_SPF_INT_H
#define POSTERN_SPF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/parse.h"

/*
 * Checks the macro-string syntax of RFC 7208 7.1 without expanding: exp
 * true for explain-string (SP allowed, letters c r t allowed). On PARSE_OK,
 * *ends_in_macro_out (may be NULL) says whether the string ends with a
 * macro-expand, which a domain-spec's domain-end needs (7.1).
 */
enum parse_rc	spf_macro_check(struct span in, bool exp,
		    bool *ends_in_macro_out);

/* Does the macro-string use the %{p} letter (either case)? Its lookups are
 * done before the expansion that needs them. */
bool		spf_macro_uses_p(struct span in);

/*
 * A name we may query or check: labels of 1..63 bytes, at most 253 bytes,
 * bytes 0x21..0x7e without '\' (libunbound would read it as an escape),
 * at least two labels when multi is true, and a last label that is not all
 * digits (that is an address, not a domain) when multi is true. No trailing
 * dot: the caller strips one first.
 */
bool		spf_name_valid(const char *name, size_t len, bool multi);

/* Lower-case ASCII comparison helpers for names. */
bool		spf_name_eq(const char *a, const char *b);
/* name is target or a subdomain of it (5.5 ptr). */
bool		spf_name_under(const char *name, const char *target);

/*
 * Parses a client address: IPv4 dotted quad or IPv6 text; an IPv4-mapped
 * IPv6 address becomes IPv4 (4.1). Fills the family (AF_INET/AF_INET6) and
 * 4 or 16 bytes. 0, or -1 when it is not an address.
 */
int		spf_ip_parse(const char *text, int *family_out,
		    uint8_t addr_out[16]);

#endif

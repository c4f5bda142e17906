/*
 * remote_ehlo: what a server's reply to our EHLO offers the outbound
 * client: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
 * STARTTLS (RFC 3207), SMTPUTF8 (RFC 6531) and AUTH PLAIN (RFC 4954,
 * RFC 4616). Pure: reads a reply parsed by smtp_reply, does no I/O.
 */
#ifndef POSTERN_REMOTE_EHLO_H
#define POSTERN_REMOTE_EHLO_H

#include <stdbool.h>
#include <stdint.h>

#include "smtp/smtp_reply.h"

#define REMOTE_EHLO_SIZE_DIGITS	20	/* RFC 1870 4: 1*20DIGIT */

struct remote_ehlo {
	bool		 pipelining;
	bool		 eightbitmime;
	bool		 starttls;
	bool		 smtputf8;
	bool		 size;		/* SIZE announced: MAIL may carry SIZE= */
	uint64_t	 size_max;	/* its limit in bytes; 0 = none given
					 * (RFC 1870 4: "SIZE" or "SIZE 0"), or
					 * a parameter that is not 1..20 digits
					 * or does not fit 64 bits */
	bool		 auth_plain;	/* AUTH announced with PLAIN among its
					 * mechanisms (any case) */
};

/*
 * Fills *out from a complete 250 reply to EHLO; any other reply (HELO
 * fallback, an error, an incomplete reply) offers nothing: all false.
 */
void	remote_ehlo_parse(const struct smtp_resp *r, struct remote_ehlo *out);

#endif

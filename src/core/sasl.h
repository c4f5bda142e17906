/*
 * sasl: the pure parts of SASL that SMTP AUTH (RFC 4954), POP3 AUTH
 * (RFC 5034) and IMAP AUTHENTICATE share: strict base64 (RFC 4648 4) and
 * the PLAIN message (RFC 4616). No I/O; fuzzed.
 */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include "core/buf.h"
#include "core/parse.h"

/* Decodes base64 text into out (bounded by out->max). "=" alone is the
 * empty string (RFC 4954 4). PARSE_INVALID on any bad character or padding,
 * PARSE_TOO_LONG when out would overflow. */
enum parse_rc sasl_b64_decode(struct span in, struct buf *out);
/* Encodes n bytes into out. */
void	sasl_b64_encode(const void *data, size_t n, struct buf *out);
/* Splits "authzid NUL authcid NUL passwd". authzid must be empty or equal
 * to authcid (no proxy logins). Spans point into msg. */
enum parse_rc sasl_plain_split(struct span msg, struct span *user_out,
	    struct span *pass_out);

#endif
